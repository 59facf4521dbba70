import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import ParleyCore
import ParleyIdentity
import ParleyProtocol

/// Accounts over HTTP (`/api/v1/accounts`, `login`, `logout`, `me`), JSON in and out; every error is
/// `{"error":{"code","message"}}` with the contract's status.
extension ParleyServer {
    /// The largest request body the account endpoints read.
    static let maxAccountBodyBytes = 16 * 1024

    func addAccountRoutes(to router: Router<ParleyRequestContext>) {
        let api = router.group("api/v1")
        let identity = self.identity
        let originPolicy = OriginPolicy(allowedOrigins: configuration.allowedOrigins)
        let secureCookies = configuration.tls != nil
        let metrics = self.metrics
        let log = LogThrottle(logger: logger)
        api.get("auth") { _, _ in
            Self.json(
                .ok,
                AuthSettings(guests: identity.settings.guestsAllowed, registration: identity.settings.registrationOpen ? "open" : "closed")
            )
        }
        api.post("accounts") { request, _ in
            await Self.answering {
                let body = try await Self.body(of: request, as: Registration.self)
                do {
                    let account = try await identity.register(user: body.user, password: body.password, name: body.name)
                    return Self.json(.created, UserReply(user: account.user))
                } catch let error as IdentityService.RegistrationError {
                    switch error {
                    case .registrationClosed:
                        throw Failure(.forbidden, "registration_closed", "this server does not let anyone create an account; ask its operator")
                    case .invalidName(let message): throw Failure(.badRequest, "invalid_name", message)
                    case .weakPassword(let message): throw Failure(.badRequest, "weak_password", message)
                    case .userTaken: throw Failure(.conflict, "user_taken", "that user name is taken; pick another")
                    }
                }
            }
        }
        api.post("login") { request, context in
            await Self.answering {
                let body = try await Self.body(of: request, as: Login.self)
                let address = context.remoteAddress.map { "\($0.ipAddress ?? "unknown")" } ?? "unknown"
                do {
                    let (token, credential) = try await identity.login(user: body.user, password: body.password, address: address)
                    metrics.countSignIn(.ok)
                    let expiresAt = credential.expiresAt.map(Timestamp.rfc3339(millisecondsSinceEpoch:)) ?? ""
                    var response = Self.json(.ok, LoginReply(token: token, user: credential.user, expiresAt: expiresAt))
                    let seconds = max(0, ((credential.expiresAt ?? 0) - SystemTime.millisecondsSinceEpoch()) / 1000)
                    response.headers[.setCookie] = Self.sessionCookie(token, maxAge: seconds, secure: secureCookies)
                    return response
                } catch let error as IdentityService.LoginError {
                    switch error {
                    case .throttled(let wait):
                        metrics.countSignIn(.throttled)
                        log.warning(
                            "throttled sign-ins after too many failures",
                            metadata: ["user": "\(LogThrottle.clientValue(body.user))", "address": "\(address)"]
                        )
                        var response = Self.error(.tooManyRequests, "rate_limited", "too many failed sign-ins; wait and try again")
                        response.headers[.retryAfter] = String(max(1, wait.components.seconds + 1))
                        return response
                    case .wrongCredentials:
                        metrics.countSignIn(.refused)
                        throw Failure(.unauthorized, "unauthorized", "wrong user name or password")
                    }
                }
            }
        }
        api.post("logout") { request, _ in
            await Self.answering {
                let token = try Self.token(of: request, originPolicy: originPolicy)
                _ = try await Self.credential(of: token, identity: identity)
                if SessionTokens.isSessionToken(token) { try await identity.logout(token: token) }
                var response = Response(status: .noContent, headers: [.cacheControl: "no-store"])
                response.headers[.setCookie] = Self.sessionCookie("", maxAge: 0, secure: secureCookies)
                return response
            }
        }
        let limits = configuration.limits
        api.get("me") { request, _ in
            await Self.answering {
                let credential =
                    if let guest = try await Self.guest(of: request, identity: identity) {
                        guest
                    } else {
                        try await Self.credential(of: try Self.token(of: request, originPolicy: originPolicy), identity: identity)
                    }
                return Self.json(
                    .ok,
                    UserReply(
                        user: credential.user,
                        expiresAt: credential.expiresAt.map(Timestamp.rfc3339(millisecondsSinceEpoch:)),
                        limits: limits
                    )
                )
            }
        }
    }

    // MARK: Bodies

    private struct Registration: Decodable {
        var user: String
        var password: String
        var name: String?
    }

    private struct Login: Decodable {
        var user: String
        var password: String
    }

    private struct UserReply: Encodable {
        var user: User
        var expiresAt: String?
        /// What a connection of the user is held to (`/me` only): what `welcome` tells a WebSocket client.
        var limits: Limits?
    }

    private struct LoginReply: Encodable {
        var token: String
        var user: User
        var expiresAt: String
    }

    private struct AuthSettings: Encodable {
        var guests: Bool
        var registration: String
    }

    // MARK: Helpers

    /// An HTTP error to answer with.
    struct Failure: Error {
        var status: HTTPResponse.Status
        var code: String
        var message: String

        init(_ status: HTTPResponse.Status, _ code: String, _ message: String) {
            self.status = status
            self.code = code
            self.message = message
        }
    }

    /// Runs a handler, answering each failure with its status and JSON error (and a database that cannot be reached
    /// with `503`): no handler error reaches the framework, whose logs could show the request.
    static func answering(_ handler: () async throws -> Response) async -> Response {
        do {
            return try await handler()
        } catch let failure as Failure {
            var response = error(failure.status, failure.code, failure.message)
            if failure.status == .tooManyRequests { response.headers[.retryAfter] = "1" }
            return response
        } catch {
            return Self.error(.serviceUnavailable, "internal", "the server could not complete the request; try again")
        }
    }

    /// A JSON body of at most `limit` bytes, sent as `application/json`.
    static func body<Body: Decodable>(of request: Request, as _: Body.Type, upTo limit: Int = maxAccountBodyBytes) async throws -> Body {
        guard request.headers[.contentType]?.lowercased().hasPrefix("application/json") == true else {
            throw Failure(.badRequest, "bad_request", "send a JSON body with Content-Type: application/json")
        }
        let bytes: ByteBuffer
        do {
            bytes = try await request.body.collect(upTo: limit)
        } catch is NIOTooManyBytesError {
            throw Failure(.contentTooLarge, "too_large", "the body is over \(limit) bytes")
        }
        do {
            return try JSONDecoder().decode(Body.self, from: Data(bytes.readableBytesView))
        } catch DecodingError.keyNotFound(let key, _) {
            throw Failure(.badRequest, "bad_request", "field \"\(key.stringValue)\" is required")
        } catch DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context) {
            let field = context.codingPath.last?.stringValue ?? "body"
            throw Failure(.badRequest, "bad_request", "field \"\(field)\" must be a string")
        } catch {
            throw Failure(.badRequest, "bad_request", "the body must be one JSON object")
        }
    }

    /// The credential a request presents in `Authorization: Bearer` or the session cookie. A cookie sent from a page
    /// of another origin is refused (`403`), and a credential in the URL is never used (`400`).
    static func token(of request: Request, originPolicy: OriginPolicy) throws -> String {
        let presented = PresentedCredentials.presented(
            authorization: request.headers[values: .authorization],
            cookies: request.headers[values: .cookie],
            uri: request.uri.description
        )
        switch presented {
        case .inURL:
            throw Failure(.badRequest, "bad_request", "send credentials in the Authorization header or the session cookie, never in the URL")
        case .none:
            throw Failure(.unauthorized, "unauthorized", "sign in first")
        case .token(let token):
            if request.headers[.authorization] == nil,
                !originPolicy.allows(origin: request.headers[.origin], host: request.head.authority)
            {
                throw Failure(.forbidden, "forbidden", "a page of another site may not use this session")
            }
            return token
        }
    }

    /// The guest a request speaks for when it names one (`?guest=NAME`, where a browser's `EventSource` can put it),
    /// the name enforced as a `hello`'s is; `nil` when it names none. A session cookie beside it is ignored (a guest's
    /// page may still hold an expired one); an `Authorization` header beside it is refused.
    static func guest(of request: Request, identity: IdentityService) async throws -> Credential? {
        guard let requested = request.uri.queryParameters["guest"] else { return nil }
        guard request.headers[.authorization] == nil else {
            throw Failure(.badRequest, "bad_request", "present either a credential or a guest name, not both")
        }
        guard identity.guestsAllowed else {
            throw Failure(.unauthorized, "unauthorized", "this server admits only signed-in users: sign in")
        }
        guard let name = Names.displayName(enforcing: String(requested)) else {
            throw Failure(
                .badRequest,
                "invalid_name",
                "a display name is 1–32 visible characters in at most 128 bytes, without control characters"
            )
        }
        if try await identity.isTakenByAnAccount(name) {
            throw Failure(.conflict, "name_taken", "an account has that name; pick another or sign in")
        }
        return .guest(named: name)
    }

    static func credential(of token: String, identity: IdentityService) async throws -> Credential {
        do {
            return try await identity.authenticate(token: token)
        } catch let failure as AuthenticationFailure {
            throw Failure(.unauthorized, "unauthorized", failure.message)
        }
    }

    /// The session cookie: HttpOnly (no script reads it), SameSite=Lax (no other site's form posts it), Secure under
    /// TLS.
    static func sessionCookie(_ token: String, maxAge: Int64, secure: Bool) -> String {
        "\(PresentedCredentials.cookieName)=\(token); Path=/; Max-Age=\(maxAge); HttpOnly; SameSite=Lax" + (secure ? "; Secure" : "")
    }

    static func json(_ status: HTTPResponse.Status, _ value: some Encodable) -> Response {
        json(status, jsonText(value))
    }

    /// A value as compact JSON with sorted keys (what every answer body is).
    static func jsonText(_ value: some Encodable) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Strings, numbers, booleans and arrays of them: encoding cannot fail.
        return String(decoding: try! encoder.encode(value), as: UTF8.self)
    }

    static func error(_ status: HTTPResponse.Status, _ code: String, _ message: String) -> Response {
        json(status, APIError(code, message).json)
    }
}
