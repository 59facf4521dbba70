import Synchronization

/// Wake-ups of the threads that write to connections (event loops), held while a store's writer hands out one
/// commit: the deliveries and then the acks.
///
/// Without it, the first frame for a loop wakes it at once; on a busy core the woken loop takes the core from the
/// writer, writes that one frame and sleeps, and is woken again by the next (its `ack`, another member). Held, each
/// loop is woken once per commit, with everything for it already queued.
public final class DeferredWakeUps: Sendable {
    private struct State {
        var holders = 0
        var held: [@Sendable () -> Void] = []
    }

    private let state = Mutex(State())

    /// Creates a gate that holds nothing.
    public init() {}

    /// Runs `body`; wake-ups asked for meanwhile, from any thread, run when it returns (the last of overlapping
    /// holds runs them).
    public func holding<Result>(_ body: () throws -> Result) rethrows -> Result {
        state.withLock { $0.holders += 1 }
        defer {
            let held = state.withLock { state -> [@Sendable () -> Void] in
                state.holders -= 1
                guard state.holders == 0 else { return [] }
                defer { state.held = [] }
                return state.held
            }
            for wake in held { wake() }
        }
        return try body()
    }

    /// Runs `wake` now, or when the current hold ends. Callers ask once per sleeping thread (not once per frame),
    /// so a hold gathers at most one wake-up per event loop.
    public func wake(_ wake: @escaping @Sendable () -> Void) {
        let now = state.withLock { state -> Bool in
            guard state.holders > 0 else { return true }
            state.held.append(wake)
            return false
        }
        if now { wake() }
    }
}
