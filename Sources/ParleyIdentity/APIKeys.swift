import ParleyCore

/// API keys for application backends: 256 random bits after `pak_`, shown once when created and stored only as
/// their SHA-256, like session tokens. They work with the HTTP API only (never in `hello` or at a WebSocket upgrade).
package enum APIKeys {
    /// What every API key starts with, so that one is told from a session token or a JWT.
    package static let prefix = "pak_"

    /// Whether `token` looks like an API key.
    package static func isAPIKey(_ token: String) -> Bool {
        token.hasPrefix(prefix)
    }

    /// Why a key was not created.
    package enum CreationError: Error, Equatable {
        case invalidName
        case noScope
        case nameTaken
    }
}

extension IdentityService {
    /// Creates an API key with these scopes.
    /// - Returns: The key, which is not stored and cannot be shown again.
    package func createAPIKey(named requested: String, scopes: Set<APIKeyScope>, now: Int64) async throws -> (key: String, record: APIKey) {
        guard let name = AccountNames.login(requested) else { throw APIKeys.CreationError.invalidName }
        guard !scopes.isEmpty else { throw APIKeys.CreationError.noScope }
        let (key, hash) = SessionTokens.make(prefix: APIKeys.prefix)
        let record = APIKey(name: name, scopes: scopes, createdAt: now)
        do {
            try await accounts.createAPIKey(record, hash: hash)
        } catch AccountStoreError.keyTaken {
            throw APIKeys.CreationError.nameTaken
        }
        return (key, record)
    }

    /// The key `token` is, unless it is unknown or revoked.
    package func apiKey(_ token: String) async throws -> APIKey? {
        try await accounts.apiKey(hash: SessionTokens.hash(token))
    }
}
