import Crypto
import Foundation
import HummingbirdBcrypt
import NIOPosix
import Synchronization

/// Password hashing with bcrypt (from hummingbird-auth), on threads of its own: a hash takes tens of milliseconds of
/// CPU by design, and must never run on an event loop or hold a task executor's thread.
///
/// bcrypt reads at most 72 bytes of its input; Parley gives it the base64 SHA-256 of the password (44 bytes), so
/// every one of a password's up to 256 characters counts.
package struct Passwords: Sendable {
    /// Characters a password may have.
    package static let allowedLength = 8...256

    /// bcrypt's work factor (log2 of its rounds).
    package let cost: UInt8
    private let threads: NIOThreadPool
    /// A hash checked when the account does not exist, so that an unknown user takes as long as a wrong password;
    /// made (on the pool's thread) the first time it is needed.
    private let dummyHash = DummyHash()

    /// - Parameters:
    ///   - cost: bcrypt's work factor: 12 by default; tests use the minimum, 4.
    ///   - threads: Where hashing runs; started by the caller.
    package init(cost: UInt8 = 12, threads: NIOThreadPool) {
        self.cost = cost
        self.threads = threads
    }

    /// Why a password is refused, or `nil`.
    package static func problem(with password: String) -> String? {
        allowedLength.contains(password.count) ? nil : "a password is 8 to 256 characters"
    }

    /// The hash to store for `password`.
    package func hash(_ password: String) async throws -> String {
        let (cost, input) = (self.cost, Self.prepared(password))
        return try await threads.runIfActive { Bcrypt.hash(input, cost: cost) }
    }

    /// Whether `password` matches `hash`; with no hash (no such account) it checks a dummy one and answers `false`,
    /// taking the same time.
    package func verify(_ password: String, against hash: String?) async throws -> Bool {
        let (input, cost, dummy) = (Self.prepared(password), cost, dummyHash)
        let matches = try await threads.runIfActive {
            Bcrypt.verify(input, hash: hash ?? dummy.value(cost: cost))
        }
        return matches && hash != nil
    }

    /// The dummy hash, shared by copies of a ``Passwords``.
    private final class DummyHash: Sendable {
        private let hash = Mutex<String?>(nil)

        /// The hash, made on first use; call it off the event loops.
        func value(cost: UInt8) -> String {
            if let made = hash.withLock({ $0 }) { return made }
            let made = Bcrypt.hash(Passwords.prepared("no account has this password"), cost: cost)
            hash.withLock { $0 = $0 ?? made }
            return made
        }
    }

    static func prepared(_ password: String) -> String {
        Data(SHA256.hash(data: Data(password.utf8))).base64EncodedString()
    }
}
