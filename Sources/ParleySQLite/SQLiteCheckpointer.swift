import GRDB
import GRDBSQLite
import Logging
import Synchronization

/// Keeps the write-ahead log's checkpoints off the commit path without letting the log grow without bound.
///
/// SQLite's automatic checkpoint runs inside the commit that takes the log past 1,000 pages: it copies them into the
/// database file and syncs it while every send queued behind waits (a 10-client room at 1,000 msg/s had a p99 of
/// 1.9–2.5 ms on disk, 0.55 ms with no checkpoint). A checkpoint on another connection alone does not do: under
/// continuous writes it never finds the whole log copied, so SQLite never starts the log over and the `-wal` file grows
/// at the write rate (100 MB/s at saturation here).
///
/// So the writer's connection reports the log's length after each commit (`sqlite3_wal_hook`, which replaces the
/// automatic checkpoint), and:
/// - past ``CheckpointSchedule/passAt`` frames, a passive checkpoint copies the log on a connection of its own, in the background;
/// - once one has, the writer copies what was appended meanwhile (at most ``CheckpointSchedule/finishWithin`` frames) itself, after the
///   commit's senders are answered (``finishIfDue(in:)``), and the log starts over at the next commit;
/// - past ``CheckpointSchedule/inlineAt`` frames (the background cannot keep up), the commit checkpoints inline, as SQLite's own would:
///   the log stays bounded.
final class SQLiteCheckpointer: Sendable {
    private let path: String
    private let logger: Logger
    private let state = Mutex(State())
    /// The background passes' own connection, opened by the first pass.
    private let connection = Mutex<DatabaseQueue?>(nil)

    private struct State {
        var schedule = CheckpointSchedule()
        var pass: Task<Void, Never>?
        var stopped = false
    }

    /// - Parameters:
    ///   - path: The database file.
    ///   - logger: Where failed checkpoints are reported.
    init(path: String, logger: Logger) {
        self.path = path
        self.logger = logger
    }

    /// Makes `db` report its log's length here after each commit, instead of checkpointing on its own.
    func watch(_ db: Database) {
        let context = Unmanaged.passUnretained(self).toOpaque()
        sqlite3_wal_hook(
            db.sqliteConnection,
            { context, connection, _, frames in
                Unmanaged<SQLiteCheckpointer>.fromOpaque(context!).takeUnretainedValue()
                    .committed(logFrames: Int(frames), connection: connection)
                return SQLITE_OK
            },
            context
        )
    }

    /// After a commit, in it: starts a background pass, or checkpoints now, as the schedule says.
    private func committed(logFrames frames: Int, connection: OpaquePointer?) {
        let step = state.withLock { state in
            state.schedule.committed(logFrames: frames, passRunning: state.pass != nil || state.stopped)
        }
        switch step {
        case .none: break
        case .checkpointInline: sqlite3_wal_checkpoint_v2(connection, nil, SQLITE_CHECKPOINT_PASSIVE, nil, nil)
        case .startPass(let generation): startPass(generation: generation)
        }
    }

    private func startPass(generation: Int) {
        state.withLock { state in
            state.pass = Task {
                let copied = await self.copyInBackground()
                self.state.withLock { state in
                    state.pass = nil
                    if let copied { state.schedule.passCopied(copied, generation: generation) }
                }
            }
        }
    }

    /// A passive checkpoint on the background connection; the frames of the log copied so far, or `nil` if it failed.
    private func copyInBackground() async -> Int? {
        do {
            let queue = try connection.withLock { queue in
                if let queue { return queue }
                let opened = try DatabaseQueue(path: path)
                queue = opened
                return opened
            }
            return try await queue.writeWithoutTransaction { db in try db.checkpoint(.passive).checkpointedFrameCount }
        } catch {
            logger.warning(
                "a background checkpoint failed; the writer checkpoints once the log is 40 MB",
                metadata: ["database": "\(path)", "error": "\(error)"]
            )
            return nil
        }
    }

    /// Copies the frames a background pass left, when one has copied all but a few: on the writer's thread, after its
    /// commit's senders are answered.
    func finishIfDue(in pool: DatabasePool) {
        guard state.withLock({ $0.schedule.takeFinish() }) else { return }
        do {
            _ = try pool.writeWithoutTransaction { db in try db.checkpoint(.passive) }
        } catch {
            logger.warning("could not finish a checkpoint; the next one will", metadata: ["database": "\(path)", "error": "\(error)"])
        }
    }

    /// Starts no more passes, waits for the running one and closes the background connection.
    func stop() async {
        let pass = state.withLock { state in
            state.stopped = true
            return state.pass
        }
        await pass?.value
        try? connection.withLock { queue in
            try queue?.close()
            queue = nil
        }
    }
}

/// When ``SQLiteCheckpointer`` copies the log, from the log's length after each commit; a value, so each rule is a
/// unit test.
package struct CheckpointSchedule: Equatable {
    /// What to do after a commit.
    package enum Step: Equatable {
        case none
        /// Copy the log on the background connection; report with ``passCopied(_:generation:)``.
        case startPass(generation: Int)
        /// Copy it now, in the commit.
        case checkpointInline
    }

    /// Log frames (pages) that start a background pass: SQLite's own threshold.
    package static let passAt = 1_000
    /// At most this many frames left after a background pass are copied by the writer, so the log can start over.
    package static let finishWithin = 256
    /// Log frames (40 MB of 4 KB pages) past which a commit checkpoints inline.
    package static let inlineAt = 10_000

    /// The log's length at the last commit; a shorter one means the log started over.
    private var frames = 0
    /// Counts the log's starts, so that a pass that began in an earlier log changes nothing.
    package private(set) var generation = 0
    /// Frames the last background pass copied, in this log.
    private var copied: Int?
    private var finishDue = false

    /// A schedule for a log that has not been written.
    package init() {}

    /// After a commit that left the log `frames` long.
    /// - Parameter passRunning: Whether a background pass is running (or none may start).
    package mutating func committed(logFrames frames: Int, passRunning: Bool) -> Step {
        if frames < self.frames {
            generation += 1
            copied = nil
            finishDue = false
        }
        self.frames = frames
        if frames >= Self.inlineAt { return .checkpointInline }
        if let copied, frames - copied <= Self.finishWithin {
            finishDue = true
            return .none
        }
        guard frames >= Self.passAt, !passRunning else { return .none }
        return .startPass(generation: generation)
    }

    /// A background pass started in `generation` has copied the log's first `frames` frames.
    package mutating func passCopied(_ frames: Int, generation: Int) {
        if generation == self.generation { copied = frames }
    }

    /// Whether the writer should copy the rest of the log now (once per pass that left little).
    package mutating func takeFinish() -> Bool {
        defer { finishDue = false }
        return finishDue
    }
}
