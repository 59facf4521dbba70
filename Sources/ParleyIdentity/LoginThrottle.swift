import Synchronization

/// Slows password guessing: more than ``maxFailuresPerName`` failed logins for one login name, or
/// ``maxFailuresPerAddress`` from one client address, within ``window`` are refused with `429` until the oldest
/// failure leaves the window. Kept in memory on each node.
package final class LoginThrottle: Sendable {
    package static let maxFailuresPerName = 5
    package static let maxFailuresPerAddress = 20
    package static let window: Duration = .seconds(60)
    /// Names and addresses remembered at most; past it the oldest are forgotten.
    static let capacity = 100_000

    private let failures = Mutex<(names: [String: [ContinuousClock.Instant]], addresses: [String: [ContinuousClock.Instant]])>(([:], [:]))
    private let now: @Sendable () -> ContinuousClock.Instant

    /// - Parameter now: The clock (tests move it by hand).
    package init(now: @escaping @Sendable () -> ContinuousClock.Instant = { ContinuousClock.now }) {
        self.now = now
    }

    /// How long a login for `name` from `address` must wait, or `nil` when it may go ahead.
    package func retryAfter(name: String, address: String) -> Duration? {
        let time = now()
        return failures.withLock { failures in
            let byName = Self.recent(failures.names[name], at: time)
            let byAddress = Self.recent(failures.addresses[address], at: time)
            var waits: [Duration] = []
            if byName.count >= Self.maxFailuresPerName { waits.append(byName[byName.count - Self.maxFailuresPerName] + Self.window - time) }
            if byAddress.count >= Self.maxFailuresPerAddress {
                waits.append(byAddress[byAddress.count - Self.maxFailuresPerAddress] + Self.window - time)
            }
            return waits.max()
        }
    }

    /// Records a failed login.
    package func recordFailure(name: String, address: String) {
        let time = now()
        failures.withLock { failures in
            if failures.names.count >= Self.capacity { failures.names.removeAll() }
            if failures.addresses.count >= Self.capacity { failures.addresses.removeAll() }
            failures.names[name] = Self.recent(failures.names[name], at: time) + [time]
            failures.addresses[address] = Self.recent(failures.addresses[address], at: time) + [time]
        }
    }

    private static func recent(_ times: [ContinuousClock.Instant]?, at time: ContinuousClock.Instant) -> [ContinuousClock.Instant] {
        (times ?? []).filter { time - $0 < window }
    }
}
