import Foundation
import JWTKit
import ParleyCore
import ParleyProtocol

/// JWTs signed by the application Parley is embedded in (`--jwt-key`, repeatable), checked with jwt-kit: the
/// signature with the key, and the token's `alg` must be the key's own algorithm (a token signed with an HS256
/// secret never passes for an RSA key's, nor `alg: none` for anything).
///
/// Claims: `sub` and `exp` are required (`exp` strictly); `nbf` and `iat` are honoured with ``leeway``; `iss` and `aud` are checked
/// when ``Settings/issuer`` and ``Settings/audience`` are set. The user's id is `sub`, verbatim; the display name is
/// the `name` claim (enforced as display names are), else `sub`; `"role": "admin"` makes a server admin.
public final class TrustedTokens: Sendable {
    /// What the operator configured.
    public struct Settings: Sendable, Equatable {
        /// The key files: a PEM public key (RS256, ES256, EdDSA) or a file holding an HS256 secret.
        public var keyFiles: [String]
        /// The `iss` every token must carry, if set.
        public var issuer: String?
        /// The `aud` every token must include, if set.
        public var audience: String?

        /// Creates settings.
        public init(keyFiles: [String], issuer: String? = nil, audience: String? = nil) {
            self.keyFiles = keyFiles
            self.issuer = issuer
            self.audience = audience
        }
    }

    /// Why a key file cannot be used; the message names the file.
    package struct KeyError: Error, CustomStringConvertible {
        package let description: String
    }

    /// How far `nbf` and `iat` may be in the future, to allow for clocks that disagree. (`exp` is strict: a
    /// connection is closed when its token expires, so a token must not be let in after it.)
    package static let leeway: TimeInterval = 60
    /// The shortest HS256 secret accepted.
    package static let minimumSecretBytes = 32

    private let keys: [(algorithm: String, keys: JWTKeyCollection)]
    private let settings: Settings

    /// Reads the key files.
    /// - Throws: ``KeyError`` naming a file that cannot be read or is neither a public key nor a long enough secret.
    package init(settings: Settings) async throws {
        var keys: [(String, JWTKeyCollection)] = []
        for file in settings.keyFiles {
            guard let contents = FileManager.default.contents(atPath: file).map({ String(decoding: $0, as: UTF8.self) }) else {
                throw KeyError(description: "--jwt-key: cannot read \(file)")
            }
            keys.append(try await Self.keys(from: contents, file: file))
        }
        self.keys = keys
        self.settings = settings
    }

    private static func keys(from contents: String, file: String) async throws -> (String, JWTKeyCollection) {
        let collection = JWTKeyCollection()
        if contents.contains("-----BEGIN") {
            if let rsa = try? Insecure.RSA.PublicKey(pem: contents) {
                return ("RS256", await collection.add(rsa: rsa, digestAlgorithm: .sha256, parser: AlgorithmParser(expected: "RS256")))
            }
            if let ecdsa = try? ES256PublicKey(pem: contents) {
                return ("ES256", await collection.add(ecdsa: ecdsa, parser: AlgorithmParser(expected: "ES256")))
            }
            if let eddsa = try? EdDSA.PublicKey(pem: contents) {
                return ("EdDSA", await collection.add(eddsa: eddsa, parser: AlgorithmParser(expected: "EdDSA")))
            }
            throw KeyError(description: "--jwt-key: \(file) is not a PEM public key for RS256, ES256 or EdDSA")
        }
        let secret = contents.trimmingCharacters(in: .newlines)
        guard secret.utf8.count >= minimumSecretBytes else {
            throw KeyError(description: "--jwt-key: \(file) holds an HS256 secret shorter than \(minimumSecretBytes) bytes")
        }
        return ("HS256", await collection.add(hmac: HMACKey(from: secret), digestAlgorithm: .sha256, parser: AlgorithmParser(expected: "HS256")))
    }

    /// The credential a JWT stands for.
    /// - Parameter now: The time, in milliseconds since the Unix epoch.
    /// - Throws: ``AuthenticationFailure`` when no key verifies it or a claim refuses it.
    func credential(for token: String, now: Int64) async throws -> Credential {
        var verified: Claims?
        for (_, collection) in keys {
            if let claims = try? await collection.verify(token, as: Claims.self) {
                verified = claims
                break
            }
        }
        guard let claims = verified else {
            throw AuthenticationFailure("the token is not signed by a key this server trusts, or is malformed")
        }
        let date = Date(timeIntervalSince1970: Double(now) / 1000)
        do {
            try claims.exp.verifyNotExpired(currentDate: date)
            try claims.nbf?.verifyNotBefore(currentDate: date.addingTimeInterval(Self.leeway))
        } catch {
            throw AuthenticationFailure("the token has expired or is not valid yet; get a new one")
        }
        if let issuedAt = claims.iat?.value, issuedAt > date.addingTimeInterval(Self.leeway) {
            throw AuthenticationFailure("the token was issued in the future; check the issuer's clock")
        }
        if let issuer = settings.issuer, claims.iss?.value != issuer {
            throw AuthenticationFailure("the token is not from the issuer this server trusts")
        }
        if let audience = settings.audience {
            do {
                guard let aud = claims.aud else { throw AuthenticationFailure("") }
                try aud.verifyIntendedAudience(includes: audience)
            } catch {
                throw AuthenticationFailure("the token is not meant for this server (aud)")
            }
        }
        let id = claims.sub.value
        guard !id.isEmpty, id.utf8.count <= 256, !id.hasPrefix(User.guestIDPrefix) else {
            throw AuthenticationFailure("the token's sub is not a usable user id")
        }
        guard let name = claims.name.flatMap(Names.displayName(enforcing:)) ?? Names.displayName(enforcing: id) else {
            throw AuthenticationFailure("the token has no name claim and its sub is not a valid display name")
        }
        let expiresAt = Int64(claims.exp.value.timeIntervalSince1970 * 1000)
        return Credential(user: User(id: id, name: name, guest: false), admin: claims.role == "admin", expiresAt: expiresAt)
    }

    /// The claims Parley reads; jwt-kit checks the signature, ``credential(for:now:)`` the claims.
    struct Claims: JWTPayload {
        var sub: SubjectClaim
        var exp: ExpirationClaim
        var nbf: NotBeforeClaim?
        var iat: IssuedAtClaim?
        var iss: IssuerClaim?
        var aud: AudienceClaim?
        var name: String?
        var role: String?

        func verify(using algorithm: some JWTAlgorithm) async throws {}
    }

    /// jwt-kit's parser, refusing a token whose header names another algorithm than the key's.
    struct AlgorithmParser: JWTParser {
        let expected: String
        var jsonDecoder: any JWTJSONDecoder = .defaultForJWT

        init(expected: String) {
            self.expected = expected
        }

        func parse<Payload>(_ token: some DataProtocol, as _: Payload.Type) throws -> (header: JWTHeader, payload: Payload, signature: Data)
        where Payload: JWTPayload {
            let parsed = try DefaultJWTParser(jsonDecoder: jsonDecoder).parse(token, as: Payload.self)
            guard parsed.header.alg == expected else {
                throw JWTError.generic(identifier: "alg", reason: "the token's algorithm is not the key's")
            }
            return parsed
        }
    }
}
