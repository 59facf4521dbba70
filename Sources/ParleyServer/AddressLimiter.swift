import Synchronization

/// Caps the open WebSocket connections per client IP address.
final class AddressLimiter: Sendable {
    private let limit: Int
    private let counts = Mutex<[String: Int]>([:])

    /// A `limit` of 0 or less allows any number.
    init(limit: Int) {
        self.limit = limit
    }

    /// Counts a connection from `address`; `false` (and nothing counted) when the address is at its limit.
    func acquire(_ address: String) -> Bool {
        guard limit > 0 else { return true }
        return counts.withLock { counts in
            let current = counts[address, default: 0]
            guard current < limit else { return false }
            counts[address] = current + 1
            return true
        }
    }

    /// Forgets a connection counted by ``acquire(_:)``.
    func release(_ address: String) {
        guard limit > 0 else { return }
        counts.withLock { counts in
            let remaining = counts[address, default: 1] - 1
            counts[address] = remaining > 0 ? remaining : nil
        }
    }
}
