import ParleyCore
import Synchronization

/// What a connection has read and its ``Session`` has yet to handle, handled in order by a task that exists only
/// while there is something to handle (an idle connection costs no task) and runs on the connection's event loop.
///
/// Past ``pauseAt`` waiting items the connection should stop reading from its socket (TCP then slows the client
/// down); ``resumeReading`` is called once the backlog is down to ``resumeAt``.
final class SessionInbox: Sendable {
    /// One thing for the session.
    enum Item: Sendable {
        case text(String)
        case binary
        /// The connection has ended: end the session once everything before is handled.
        case end
    }

    private struct State {
        var items: [Item] = []
        var handling = false
        var readingPaused = false
    }

    static let pauseAt = 16
    static let resumeAt = 4

    private let session: Session
    private let executor: any TaskExecutor
    private let resumeReading: @Sendable () -> Void
    private let state = Mutex(State())

    init(session: Session, executor: any TaskExecutor, resumeReading: @escaping @Sendable () -> Void) {
        self.session = session
        self.executor = executor
        self.resumeReading = resumeReading
    }

    /// Queues an item, starting a task to handle it unless one is running.
    func submit(_ item: Item) {
        let start = state.withLock { state -> Bool in
            state.items.append(item)
            if state.items.count >= Self.pauseAt { state.readingPaused = true }
            defer { state.handling = true }
            return !state.handling
        }
        if start { Task(executorPreference: executor) { await self.handleAll() } }
    }

    /// Whether the connection should not read until ``resumeReading`` is called: the backlog reached ``pauseAt``.
    var isReadingPaused: Bool {
        state.withLock { $0.readingPaused }
    }

    private func handleAll() async {
        while let item = next() {
            switch item {
            case .text(let text): await session.receive(text: text)
            case .binary: await session.receiveBinary()
            case .end: session.end()
            }
        }
    }

    /// Takes the next item, or ends this round of handling when there is none.
    private func next() -> Item? {
        let (item, resume) = state.withLock { state -> (Item?, Bool) in
            guard !state.items.isEmpty else {
                state.handling = false
                return (nil, false)
            }
            let item = state.items.removeFirst()
            guard state.readingPaused, state.items.count <= Self.resumeAt else { return (item, false) }
            state.readingPaused = false
            return (item, true)
        }
        if resume { resumeReading() }
        return item
    }
}
