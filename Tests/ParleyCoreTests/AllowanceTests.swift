import ParleyCore
import Synchronization
import Testing

@Suite struct AllowanceTests {
    /// A clock the test moves by hand.
    final class ManualClock: Sendable {
        private let time = Mutex<Duration>(.zero)
        var now: Duration { time.withLock { $0 } }
        func advance(by duration: Duration) { time.withLock { $0 += duration } }
    }

    @Test func connectionsPerAddressAreCappedAndReleased() {
        let addresses = Allowances(limits: AllowanceLimits(maxConnections: 2))
        let first = addresses.admit("10.0.0.1")
        let second = addresses.admit("10.0.0.1")
        #expect(first != nil && second === first)
        #expect(addresses.admit("10.0.0.1") == nil)
        #expect(addresses.admit("10.0.0.2") != nil)
        addresses.release(first!)
        #expect(addresses.admit("10.0.0.1") != nil)
    }

    @Test func connectionsShareTheirAddresssCommandAndTextAllowance() {
        let clock = ManualClock()
        let limits = AllowanceLimits(commandsPerSecond: 2, commandBurst: 3, storedBytesPerSecond: 100, storedBytesBurst: 1000)
        let addresses = Allowances(limits: limits, now: { clock.now })
        let one = addresses.admit("10.0.0.1")!
        let other = addresses.admit("10.0.0.1")!
        #expect([one.allowsCommand(), other.allowsCommand(), one.allowsCommand(), other.allowsCommand()] == [true, true, true, false])
        clock.advance(by: .seconds(1))
        #expect([one.allowsCommand(), other.allowsCommand(), one.allowsCommand()] == [true, true, false])
        #expect(one.allowsStoring(bytes: 600) && !other.allowsStoring(bytes: 600) && other.allowsStoring(bytes: 400))
        clock.advance(by: .seconds(2))
        #expect(one.allowsStoring(bytes: 200) && !one.allowsStoring(bytes: 1))
    }

    @Test func aCostAboveTheBurstPassesOnlyFromAFullBucket() {
        var limiter = RateLimiter(rate: 10, burst: 5)
        let outcomes = [
            limiter.allow(now: .zero, cost: 8), limiter.allow(now: .seconds(0.2), cost: 1), limiter.allow(now: .seconds(0.5), cost: 1),
        ]
        #expect(outcomes == [true, false, true])
    }

    @Test func zeroRatesAllowEverything() {
        let addresses = Allowances(limits: AllowanceLimits(maxConnections: 0, commandsPerSecond: 0, storedBytesPerSecond: 0))
        let client = addresses.admit("10.0.0.1")!
        #expect((0..<10_000).allSatisfy { _ in client.allowsCommand() && client.allowsStoring(bytes: 1 << 20) })
        #expect((0..<1000).allSatisfy { _ in addresses.admit("10.0.0.1") != nil })
    }
}
