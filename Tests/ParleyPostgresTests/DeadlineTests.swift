import Synchronization
import Testing

@testable import ParleyPostgres

/// Database work must end for its caller even when PostgresNIO never answers and ignores cancellation (1.33.2
/// does so for a query written to a connection that closed as it was leased).
@Suite struct DeadlineTests {
    /// An operation that ignores cancellation: it ends only when the gate opens, at the end of the test or after
    /// 10 s at the latest (so that an implementation that waits for it fails instead of hanging).
    private final class Gate: Sendable {
        private let state = Mutex<(open: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

        init() {
            Task { [weak self] in
                try await Task.sleep(for: .seconds(10))
                self?.open()
            }
        }

        /// Whether the operation could have ended.
        var isOpen: Bool { state.withLock { $0.open } }

        func wait() async {
            await withCheckedContinuation { continuation in
                let openAlready = state.withLock { state in
                    if !state.open { state.waiters.append(continuation) }
                    return state.open
                }
                if openAlready { continuation.resume() }
            }
        }

        func open() {
            let waiters = state.withLock { state in
                state.open = true
                defer { state.waiters = [] }
                return state.waiters
            }
            for waiter in waiters { waiter.resume() }
        }
    }

    private struct Refused: Error {}

    @Test func anAnswerInTimeIsReturnedAndAnErrorRethrown() async throws {
        #expect(try await withDeadline(.seconds(30)) { 42 } == 42)
        await #expect(throws: Refused.self) { try await withDeadline(.seconds(30)) { throw Refused() } }
    }

    @Test func theLimitEndsTheWaitForAnOperationThatIgnoresCancellation() async {
        let gate = Gate()
        await #expect(throws: DeadlineExceeded.self) {
            try await withDeadline(.milliseconds(50)) { await gate.wait() }
        }
        #expect(!gate.isOpen, "the caller waited for the operation")
        gate.open()
    }

    @Test func cancellingTheCallerEndsTheWaitForAnOperationThatIgnoresIt() async {
        let gate = Gate()
        let caller = Task { try await abandoningOnCancellation { _ in await gate.wait() } }
        caller.cancel()
        await #expect(throws: CancellationError.self) { try await caller.value }
        #expect(!gate.isOpen, "the caller waited for the operation")
        gate.open()
    }

    @Test func anOperationCanAnswerBeforeItEnds() async {
        let gate = Gate()
        await #expect(throws: Refused.self) {
            try await abandoningOnCancellation { outcome in
                outcome.resolve(.failure(Refused()))
                await gate.wait()
            }
        }
        #expect(!gate.isOpen, "the caller waited for the operation")
        gate.open()
    }
}
