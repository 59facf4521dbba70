import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Wake-ups of the threads that write to connections (event loops), held while a store's writer hands out one
/// commit: the deliveries and then the acks.
///
/// Without it, the first frame for a loop wakes it at once; on a busy core the woken loop takes the core from the
/// writer, writes that one frame and sleeps, and is woken again by the next (its `ack`, another member). Held, each
/// loop is woken once per commit, with everything for it already queued. Only the holding thread's wake-ups wait:
/// an event loop answering its own clients meanwhile is not held up by the writer's fan-out.
public final class DeferredWakeUps: Sendable {
    /// One thread's hold: how deeply it is nested, and the wake-ups it asked for meanwhile.
    private struct Hold {
        var depth = 0
        var held: [@Sendable () -> Void] = []
    }

    private let holds = Mutex<[pthread_t: Hold]>([:])

    /// Creates a gate that holds nothing.
    public init() {}

    /// Runs `body`; wake-ups this thread asks for meanwhile run when it returns (when the outermost of nested holds
    /// returns).
    public func holding<Result>(_ body: () throws -> Result) rethrows -> Result {
        let thread = pthread_self()
        holds.withLock { $0[thread, default: Hold()].depth += 1 }
        defer {
            let held = holds.withLock { holds -> [@Sendable () -> Void] in
                holds[thread]!.depth -= 1
                guard holds[thread]!.depth == 0 else { return [] }
                return holds.removeValue(forKey: thread)!.held
            }
            for wake in held { wake() }
        }
        return try body()
    }

    /// Runs `wake` now, or when this thread's hold ends. Callers ask once per sleeping thread (not once per frame),
    /// so a hold gathers at most one wake-up per event loop.
    public func wake(_ wake: @escaping @Sendable () -> Void) {
        let thread = pthread_self()
        let now = holds.withLock { holds -> Bool in
            guard holds[thread] != nil else { return true }
            holds[thread]!.held.append(wake)
            return false
        }
        if now { wake() }
    }
}
