import ParleyCore
import ParleyProtocol

/// JWTs signed by the application Parley is embedded in (`--jwt-key`), checked with jwt-kit.
public final class TrustedTokens: Sendable {
    init() {}

    func credential(for token: String, now: Int64) async throws -> Credential {
        throw AuthenticationFailure("the token is not valid")
    }
}
