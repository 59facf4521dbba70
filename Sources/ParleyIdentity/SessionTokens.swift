import Crypto
import Foundation

/// Parley's own session tokens: 256 random bits, given to the client once and stored only as their SHA-256.
package enum SessionTokens {
    /// A new token and the hash to store for it.
    /// - Parameter prefix: What the token starts with (API keys have their own).
    package static func make(prefix: String = prefix) -> (token: String, hash: String) {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        let token =
            prefix
            + Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
        return (token, hash(token))
    }

    /// The hash a token is stored and looked up by.
    package static func hash(_ token: String) -> String {
        SHA256.hash(data: Data(token.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    /// What every session token starts with, so that one is told from a JWT (and found by secret scanners).
    package static let prefix = "pst_"

    /// Whether `token` looks like a session token (rather than a JWT).
    package static func isSessionToken(_ token: String) -> Bool {
        token.hasPrefix(prefix)
    }
}
