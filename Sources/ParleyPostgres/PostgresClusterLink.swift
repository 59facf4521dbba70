import CoreMetrics
import Foundation
import Logging
import ParleyCore
import ParleyProtocol
import PostgresNIO
import ServiceLifecycle
import Synchronization

/// Joins a node to the others sharing its PostgreSQL database: fan-out through LISTEN/NOTIFY, presence and
/// typing across nodes, and the node's heartbeat.
///
/// - Messages: every node (this one too) delivers what the `parley` channel carries. PostgreSQL delivers
///   notifications in commit order, which for one room is offset order; a gap (a missed notification) is filled
///   from the table before the next message, and one sent by reference is read from it.
/// - A lost LISTEN connection: `/readyz` turns 503 at once, the link reconnects, then LISTENs again before it
///   reads what the node's members may have missed, so nothing falls between the two. If the database stays
///   unreachable past ``outageGrace``, clients are closed with 1001 so they resume on a node that has it.
/// - Presence: each node keeps its members in `parley_presence` and announces changes; a node whose heartbeat in
///   `parley_nodes` is older than the node timeout is deleted by any other node (its presence rows go with it)
///   and everyone is told that its members left.
package final class PostgresClusterLink: Broker {
    /// This node's id in `parley_nodes`.
    package let nodeID: String
    private let store: PostgresMessageStore
    private let hub: Hub
    private let announcements: AsyncStream<Hub.Announcement>
    private let nodeTimeout: Duration
    private let logger: Logger
    private let link = Mutex(LinkState(connected: false, disconnectedSince: .now))
    private let lastDelivered = Mutex<[String: Int64]>([:])
    private let presenceJobs: AsyncStream<PresenceJob>
    private let presenceJobQueue: AsyncStream<PresenceJob>.Continuation
    private let pause: @Sendable (ListenStep) async -> Void

    /// The steps of reconnecting, listening and catching up, where a test can hold the link (a delivery was lost
    /// once after the LISTEN connection was killed: issue 17).
    package enum ListenStep: String, Sendable, CaseIterable {
        /// A connection was taken from the pool, before it is named.
        case connected
        /// LISTEN is confirmed, before the catch-up reads anything.
        case listening
        /// The other nodes' presence was read, before the plain room's head.
        case presenceRead
        /// Before a page read by the catch-up is delivered.
        case catchUpPage
        /// Caught up, before the link counts as connected and handles notifications.
        case caughtUp
        /// Before a notification is handled.
        case notification
    }

    /// How long the database may stay unreachable before clients are sent elsewhere.
    package static let outageGrace: Duration = .seconds(10)

    private enum PresenceJob: Sendable {
        case announce(Hub.Announcement)
        /// Make this node's rows in `parley_presence` match the hub, announcing the differences.
        case resynchronize
    }

    /// Creates the link for `hub`, whose announcements arrive on `announcements`.
    /// - Parameter nodeTimeout: How old a node's heartbeat may get before it counts as dead; this node beats
    ///   three times per timeout.
    package init(
        store: PostgresMessageStore,
        hub: Hub,
        announcements: AsyncStream<Hub.Announcement>,
        nodeTimeout: Duration = .seconds(15),
        logger: Logger,
        pause: @escaping @Sendable (ListenStep) async -> Void = { _ in }
    ) {
        self.nodeID = UUID().uuidString.lowercased()
        self.store = store
        self.hub = hub
        self.announcements = announcements
        self.nodeTimeout = nodeTimeout
        self.logger = logger
        self.pause = pause
        (presenceJobs, presenceJobQueue) = AsyncStream.makeStream(of: PresenceJob.self)
    }

    /// Whether the LISTEN connection is up and caught up (for `/readyz`).
    package var isConnected: Bool { link.withLock { $0.connected } }

    private struct LinkState {
        var connected: Bool
        /// Since when the node has had no LISTEN connection.
        var disconnectedSince: ContinuousClock.Instant?
        var clientsSentAway = false
    }

    /// Registers the node, then listens, beats and publishes until graceful shutdown; then deletes the node, so
    /// the others see its members leave at once.
    package func run() async throws {
        try await register()
        logger.info("joined the cluster", metadata: ["node": "\(nodeID)", "database": "\(store.location)"])
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.listen() }
            group.addTask { await self.superviseOutages() }
            group.addTask { await self.beat() }
            group.addTask { await self.publishPresence() }
            group.addTask {
                for await announcement in self.announcements { self.presenceJobQueue.yield(.announce(announcement)) }
            }
            try? await gracefulShutdown()
            group.cancelAll()
        }
        presenceJobQueue.finish()
        let (client, nodeID) = (store.client, nodeID)
        do {
            try await withDeadline(.seconds(2)) {
                try await client.query(
                    """
                    WITH gone AS (DELETE FROM parley_nodes WHERE node_id = \(nodeID) RETURNING node_id)
                    SELECT pg_notify(\(ClusterNotification.channel), \(ClusterNotification.nodeGone(node: nodeID).payload)) FROM gone
                    """
                ).drain()
            }
        } catch {
            logger.warning(
                "could not remove this node from the cluster; the others will time it out",
                metadata: ["error": "\(PostgresErrorText.describe(error))"]
            )
        }
    }

    private func register() async throws {
        let (client, nodeID) = (store.client, nodeID)
        do {
            try await withDeadline(.seconds(10)) {
                try await client.query(
                    "INSERT INTO parley_nodes (node_id) VALUES (\(nodeID)) ON CONFLICT (node_id) DO UPDATE SET heartbeat_at = now()"
                ).drain()
            }
        } catch {
            throw StoreError.cannotOpen(store.location.description, cause: error, reason: PostgresErrorText.describe(error))
        }
    }

    // MARK: Listening

    private func listen() async {
        while !Task.isCancelled {
            do {
                try await abandoningOnCancellation { attempt in try await self.listenOnce(attempt) }
            } catch {
                if Task.isCancelled { break }
                let wasConnected = link.withLock { link in
                    defer { if link.connected { link = LinkState(connected: false, disconnectedSince: .now) } }
                    return link.connected
                }
                if wasConnected {
                    hub.metrics.clusterLinkLosses.increment()
                    logger.warning("lost the cluster's LISTEN connection; reconnecting", metadata: ["error": "\(PostgresErrorText.describe(error))"])
                }
            }
            try? await Task.sleep(for: .milliseconds(500))
        }
    }

    /// Takes a connection from the pool and listens on it until it fails. A lost connection ends `attempt` at
    /// once: the caller reconnects without waiting for PostgresNIO to give the dead connection back.
    private func listenOnce(_ attempt: FirstOutcome<Void>) async throws {
        try await store.client.withConnection { connection in
            await self.pause(.connected)
            // Named, so that operators (and the tests) can tell it from the pool's other connections.
            try await withDeadline(.seconds(10)) {
                try await connection.query("SET application_name = 'parley listen'", logger: self.logger).drain()
            }
            do {
                try await self.listen(on: connection, attempt)
            } catch {
                await self.unname(connection)
                throw error
            }
            await self.unname(connection)
        }
    }

    /// Listens on `connection`: catches up, then handles notifications until the connection or a handler fails.
    private func listen(on connection: PostgresConnection, _ attempt: FirstOutcome<Void>) async throws {
        try await connection.listen(on: ClusterNotification.channel) { notifications in
            await self.pause(.listening)
            try await withDeadline(.seconds(30)) { try await self.catchUp() }
            await self.pause(.caughtUp)
            self.link.withLock { $0 = LinkState(connected: true) }
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await self.watch(connection) }
                group.addTask {
                    for try await notification in notifications {
                        await self.pause(.notification)
                        try await self.handle(notification.payload)
                    }
                    throw ClusterLinkError.listenEnded
                }
                do {
                    try await group.next()
                } catch {
                    attempt.resolve(.failure(error))
                    throw error
                }
                group.cancelAll()
            }
        }
    }

    /// Takes the LISTEN connection's name off before the pool has it back: a connection that outlived its LISTEN (a
    /// handler failed) must not be taken for the LISTEN connection when it runs a commit. If that fails, it is
    /// closed instead.
    private func unname(_ connection: PostgresConnection) async {
        do {
            try await withDeadline(.seconds(2)) {
                try await connection.query("RESET application_name", logger: self.logger).drain()
            }
        } catch {
            try? await connection.close()
        }
    }

    /// Closes this node's clients once the LISTEN connection has been down for longer than ``outageGrace``.
    private func superviseOutages() async {
        while !Task.isCancelled {
            try? await Task.sleep(for: .seconds(1))
            let sendAway = link.withLock { link in
                guard !link.connected, !link.clientsSentAway, let since = link.disconnectedSince,
                    ContinuousClock.now - since > Self.outageGrace
                else { return false }
                link.clientsSentAway = true
                return true
            }
            if sendAway {
                logger.error(
                    "the database is unreachable; closing clients so they resume on another node",
                    metadata: ["database": "\(store.location)"]
                )
                hub.closeAll(.goingAway, reason: "this node lost its database; reconnect")
            }
        }
    }

    /// Checks the LISTEN connection every few seconds, so that a silently dead one is noticed.
    private func watch(_ connection: PostgresConnection) async throws {
        while true {
            try await Task.sleep(for: nodeTimeout / 3)
            do {
                try await withDeadline(.seconds(5)) { try await connection.query("SELECT 1", logger: self.logger).drain() }
            } catch is DeadlineExceeded {
                throw ClusterLinkError.unresponsive
            }
        }
    }

    /// After (re)connecting: takes the other nodes' presence, restates this node's, and reads what members may have
    /// missed while nothing was listening.
    private func catchUp() async throws {
        var snapshot: [String: [String: Hub.RemotePresence]] = [:]
        let rows = try await store.client.query(
            "SELECT node_id, room, user_id, name FROM parley_presence WHERE node_id <> \(nodeID)"
        )
        for try await (node, room, userID, name) in rows.decode((String, String, String, String).self) {
            snapshot[room, default: [:]][userID, default: Hub.RemotePresence(name: name)].nodes.insert(node)
        }
        hub.replaceRemotePresence(snapshot)
        presenceJobQueue.yield(.resynchronize)
        await pause(.presenceRead)
        hub.advancePlainRoomHead(to: try await store.head(of: hub.plainMode.room))
        for (room, point) in hub.prepareCatchUp() {
            var cursor = max(point, 0)
            while true {
                let page = try await store.messages(in: room, after: cursor, limit: 500)
                guard let last = page.last else { break }
                await pause(.catchUpPage)
                hub.metrics.clusterCatchUpMessages.increment(by: page.count)
                hub.deliver(page)
                cursor = last.offset
                lastDelivered.withLock { $0[room] = max($0[room] ?? 0, last.offset) }
            }
        }
    }

    private func handle(_ payload: String) async throws {
        guard let notification = ClusterNotification(payload: payload) else {
            logger.warning("ignored a notification that is not Parley's", metadata: ["channel": "\(ClusterNotification.channel)"])
            return
        }
        switch notification {
        case .messages(let notes):
            for note in notes { try await deliverInOrder(note) }
        case .presence(let node, let room, let user, let present) where node != nodeID:
            hub.applyRemotePresence(node: node, room: room, user: user, present: present)
        case .typing(let node, let room, let user) where node != nodeID:
            hub.remoteTyping(in: room, user: user)
        case .plainClientLeft(let node) where node != nodeID:
            hub.remotePlainClientLeft()
        case .nodeGone(let node) where node == nodeID:
            logger.warning("the cluster timed this node out; joining again")
            try await register()
            presenceJobQueue.yield(.resynchronize)
        case .nodeGone(let node):
            hub.removeRemoteNode(node)
        case .presence, .typing, .plainClientLeft:
            break
        }
    }

    /// Delivers one room's messages in offset order: older offsets are dropped, a gap is read from the table first.
    private func deliverInOrder(_ note: ClusterNotification.MessageNote) async throws {
        let last = lastDelivered.withLock { $0[note.room] }
        if let last, note.offset <= last { return }
        if hub.hasMembers(note.room) {
            var cursor = last ?? note.offset - 1
            while cursor < note.offset - 1 {
                let missed = try await store.messages(in: note.room, after: cursor, limit: Int(min(note.offset - 1 - cursor, 500)))
                guard let newest = missed.last else { break }
                hub.metrics.clusterCatchUpMessages.increment(by: missed.count)
                hub.deliver(missed)
                cursor = newest.offset
            }
            if let message = note.message {
                hub.deliver([message])
            } else {
                let fetched = try await store.messages(in: note.room, after: note.offset - 1, limit: 1)
                hub.metrics.clusterCatchUpMessages.increment(by: fetched.count)
                hub.deliver(fetched)
            }
        }
        lastDelivered.withLock { $0[note.room] = note.offset }
    }

    // MARK: Heartbeat and presence

    /// Beats three times per node timeout, and deletes nodes that stopped beating, telling everyone.
    private func beat() async {
        while !Task.isCancelled {
            try? await Task.sleep(for: nodeTimeout / 3)
            do {
                try await withDeadline(nodeTimeout / 3) { try await self.beatOnce() }
            } catch {
                logger.debug("heartbeat failed", metadata: ["error": "\(PostgresErrorText.describe(error))"])
            }
        }
    }

    /// Renews this node's heartbeat (joining again if the others timed it out) and deletes nodes that stopped.
    private func beatOnce() async throws {
        var beating = false
        for try await _ in try await store.client.query(
            "UPDATE parley_nodes SET heartbeat_at = now() WHERE node_id = \(nodeID) RETURNING node_id"
        ) {
            beating = true
        }
        if !beating {
            logger.warning("this node was timed out of the cluster; joining again")
            try await register()
            presenceJobQueue.yield(.resynchronize)
        }
        let seconds = Double(nodeTimeout.components.seconds) + Double(nodeTimeout.components.attoseconds) / 1e18
        for try await node in try await store.client.query(
            """
            WITH gone AS (
                DELETE FROM parley_nodes WHERE heartbeat_at < now() - make_interval(secs => \(seconds)) RETURNING node_id
            )
            SELECT node_id, pg_notify(\(ClusterNotification.channel), json_build_object('k', 'g', 'n', node_id)::text) FROM gone
            """
        ).decode((String, String).self) {
            logger.warning("a node stopped beating; its members left", metadata: ["node": "\(node.0)"])
        }
    }

    /// Writes this node's presence changes to `parley_presence` and announces them, one at a time, in order.
    private func publishPresence() async {
        for await job in presenceJobs {
            do {
                try await withDeadline(.seconds(5)) {
                    switch job {
                    case .announce(.typing(let room, let user)):
                        try await self.notify(.typing(node: self.nodeID, room: room, user: user))
                    case .announce(.plainClientLeft):
                        try await self.notify(.plainClientLeft(node: self.nodeID))
                    case .announce(.presence(let room, let user, let present)):
                        try await self.setPresence(room: room, user: user, present: present)
                    case .resynchronize:
                        try await self.resynchronizePresence()
                    }
                }
            } catch {
                if case .announce(let announcement) = job, announcement.isFleeting { continue }
                logger.debug("publishing presence failed; will restate it", metadata: ["error": "\(PostgresErrorText.describe(error))"])
                try? await Task.sleep(for: .seconds(1))
                presenceJobQueue.yield(.resynchronize)
            }
        }
    }

    private func resynchronizePresence() async throws {
        try await register()
        var stored: Set<PresenceKey> = []
        for try await (room, userID, name) in try await store.client.query(
            "SELECT room, user_id, name FROM parley_presence WHERE node_id = \(nodeID)"
        ).decode((String, String, String).self) {
            stored.insert(PresenceKey(room: room, user: UserRef(id: userID, name: name)))
        }
        let local = Set(hub.localPresence().map { PresenceKey(room: $0.room, user: $0.user) })
        for key in local.subtracting(stored) { try await setPresence(room: key.room, user: key.user, present: true) }
        for key in stored.subtracting(local) { try await setPresence(room: key.room, user: key.user, present: false) }
    }

    private func setPresence(room: String, user: UserRef, present: Bool) async throws {
        let note = ClusterNotification.presence(node: nodeID, room: room, user: user, present: present).payload
        if present {
            try await store.client.query(
                """
                WITH added AS (
                    INSERT INTO parley_presence (node_id, room, user_id, name) VALUES (\(nodeID), \(room), \(user.id), \(user.name))
                    ON CONFLICT DO NOTHING
                )
                SELECT pg_notify(\(ClusterNotification.channel), \(note))
                """
            ).drain()
        } else {
            try await store.client.query(
                """
                WITH removed AS (
                    DELETE FROM parley_presence WHERE node_id = \(nodeID) AND room = \(room) AND user_id = \(user.id)
                )
                SELECT pg_notify(\(ClusterNotification.channel), \(note))
                """
            ).drain()
        }
    }

    private func notify(_ notification: ClusterNotification) async throws {
        try await store.client.query("SELECT pg_notify(\(ClusterNotification.channel), \(notification.payload))").drain()
    }

    private struct PresenceKey: Hashable {
        var room: String
        var user: UserRef
    }
}

/// Why the LISTEN connection was given up.
enum ClusterLinkError: Error, CustomStringConvertible {
    case listenEnded
    case unresponsive

    var description: String {
        switch self {
        case .listenEnded: "the notification stream ended"
        case .unresponsive: "the LISTEN connection did not answer within 5 s"
        }
    }
}

extension Hub.Announcement {
    /// Whether it is worth nothing once late (typing, a disconnect notice): such announcements are not retried.
    var isFleeting: Bool {
        switch self {
        case .presence: false
        case .typing, .plainClientLeft: true
        }
    }
}
