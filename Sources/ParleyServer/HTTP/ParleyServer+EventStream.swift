import CoreMetrics
import HTTPTypes
import Hummingbird
import HummingbirdCore
import NIOCore
import ParleyCore
import ParleyIdentity
import ParleyProtocol

/// `GET /api/v1/events?rooms=lobby,general:41`: what the server pushes, as Server-Sent Events, for clients that
/// cannot open a WebSocket (contract: shared/contracts/http-and-sse.md).
///
/// The stream is a parley.v1 session like a WebSocket's — the same joins, replay, presence, outbox bound and slow
/// consumer rule — whose connection's frames are Server-Sent Events. Each event that carries a stored entry gets an
/// `id:` cursor covering every room of the stream (``StreamCursor``); a browser's `EventSource` sends it back as
/// `Last-Event-ID` when it reconnects, to any node, and every room resumes exactly after it.
extension ParleyServer {
    /// The most rooms one stream follows.
    static let maxStreamRooms = 50
    /// How often an idle stream carries a comment at most, so that proxies keep it open (the WebSocket ping
    /// interval when shorter).
    static let streamHeartbeat: Duration = .seconds(15)

    /// - Parameter drainQueues: The WebSockets' drain queues: a message to a room wakes each event loop once, for
    ///   its WebSockets and its streams alike.
    func addEventStreamRoute(to router: Router<ParleyRequestContext>, caller: APICaller, drainQueues: PerEventLoop<DrainQueue>) {
        let sessions = caller.sessions
        let heartbeat = min(Self.streamHeartbeat, configuration.pingInterval)
        router.group("api/v1").get("events") { request, context in
            await caller.answering(request, context, needs: .read) { call in
                let rooms = try await Self.streamStart(of: request, actions: call.actions)
                let credential = call.credential
                // A key is looked up at every heartbeat: revoking it ends its streams (tokens are watched like any
                // connection's: logout, a disabled account, expiry).
                let stillValid: (@Sendable () async -> Bool)? =
                    if call.key != nil {
                        { [token = call.token] in (try? await caller.identity.apiKey(token)) != nil }
                    } else {
                        nil
                    }
                let channel = context.channel
                return Response(
                    status: .ok,
                    headers: [
                        .contentType: "text/event-stream; charset=utf-8", .cacheControl: "no-store",
                        // nginx buffers proxied responses by default; a stream must reach the browser as it is written.
                        HTTPField.Name("X-Accel-Buffering")!: "no",
                    ],
                    body: ResponseBody { writer in
                        // The session starts with the body, so that a response never written leaves nothing behind.
                        guard let connection = sessions.hub.connect(mode: .parley, format: .serverSentEvents) else {
                            try await writer.write(EventStreamWriter.closeEvent(.goingAway, reason: "the server is shutting down; reconnect"))
                            return try await writer.finish(nil)
                        }
                        // A stream the server closes (a slow consumer, a kick, the shutdown) whose last events cannot
                        // be written within 2 s, because its client stopped reading, is dropped, as a WebSocket is.
                        connection.outbox.whenClosing { closing in
                            guard closing else { return }
                            if connection.outbox.hasOverflowed { sessions.hub.metrics.slowConsumerCloses.increment() }
                            channel.eventLoop.scheduleTask(in: .seconds(2)) { channel.close(promise: nil) }
                        }
                        let session = Session(connection: connection, environment: sessions, credential: credential)
                        try await Self.stream(
                            rooms,
                            of: session,
                            heartbeat: heartbeat,
                            on: channel,
                            drainQueues: drainQueues,
                            stillValid: stillValid,
                            to: &writer
                        )
                        try await writer.finish(nil)
                    }
                )
            }
        }
    }

    /// Where the stream starts in each room: the `rooms` parameter (`room` or `room:offset`), a `Last-Event-ID`
    /// overriding its offsets; a room without either starts before its latest messages (as a join's replay).
    /// Refuses a room the user may not enter.
    private static func streamStart(of request: Request, actions: RoomActions) async throws -> StreamCursor {
        guard let list = request.uri.queryParameters["rooms"], !list.isEmpty else {
            throw Failure(.badRequest, "bad_request", "name the rooms to follow: ?rooms=lobby,general:41")
        }
        var asked: [(room: String, offset: Int64?)] = []
        for item in list.split(separator: ",", omittingEmptySubsequences: false) {
            let parts = item.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
            let room = String(parts[0])
            try RoomActions.validate(room: room)
            var offset: Int64?
            if parts.count == 2 {
                guard let value = Int64(parts[1]), value >= 0 else {
                    throw Failure(.badRequest, "bad_request", "the offset after \(room): must be a whole number, 0 or more")
                }
                offset = value
            }
            guard !asked.contains(where: { $0.room == room }) else {
                throw Failure(.badRequest, "bad_request", "\(room) is named twice")
            }
            asked.append((room, offset))
        }
        guard asked.count <= maxStreamRooms else {
            throw Failure(.badRequest, "bad_request", "a stream follows at most \(maxStreamRooms) rooms")
        }
        var resumed: StreamCursor?
        if let lastEventID = request.headers[HTTPField.Name("Last-Event-ID")!] {
            guard let cursor = StreamCursor(lastEventID) else {
                throw Failure(.badRequest, "bad_request", "Last-Event-ID is not a cursor this server gave")
            }
            resumed = cursor
        }
        var start = StreamCursor()
        for (room, offset) in asked {
            try await actions.requireEntry(to: room)
            if let resumedOffset = resumed?[room] ?? offset {
                start.advance(room, to: resumedOffset)
            } else {
                let head = try await actions.environment.store.head(of: room)
                start.advance(room, to: max(0, head - Int64(actions.environment.limits.joinReplayCount)))
            }
        }
        return start
    }

    /// Runs the stream until the connection closes (a kick, a slow consumer, the server's shutdown) or the client
    /// goes: joins each room from its start, and has an ``EventStreamWriter`` write what the session's outbox
    /// receives, the cursor added, on the connection's event loop.
    private static func stream(
        _ start: StreamCursor,
        of session: Session,
        heartbeat interval: Duration,
        on channel: any Channel,
        drainQueues: PerEventLoop<DrainQueue>,
        stillValid: (@Sendable () async -> Bool)?,
        to writer: inout any ResponseBodyWriter
    ) async throws {
        let connection = session.connection
        let eventLoop = channel.eventLoop
        let commands = Task {
            await session.receive(text: #"{"type":"hello"}"#)
            for (room, since) in start.positions {
                await session.receive(text: #"{"type":"join","room":"\#(room)","since":\#(since)}"#)
            }
        }
        // Beats on the event loop rather than in a task of their own: an idle stream keeps no second task parked.
        let heartbeat = eventLoop.scheduleRepeatedTask(initialDelay: TimeAmount(interval), delay: TimeAmount(interval)) { _ in
            connection.outbox.push(OutboundFrame(ByteBuffer(string: ": ping\n\n")))
            guard let stillValid else { return }
            Task {
                if await !stillValid() { connection.outbox.close(.unauthorized, reason: "the API key was revoked") }
            }
        }
        defer {
            commands.cancel()
            heartbeat.cancel()
            session.end()
        }
        try await writer.write(ByteBuffer(string: "retry: 1000\n\n"))
        let ended = eventLoop.flatSubmit { () -> EventLoopFuture<Void> in
            let events = EventStreamWriter(
                connection: connection,
                start: start,
                drainQueue: drainQueues.value(on: eventLoop),
                eventLoop: eventLoop
            )
            let pipeline = channel.pipeline.syncOperations
            do {
                let stateHandler = try pipeline.handler(type: HTTPConnectionStateHandler.self)
                try pipeline.addHandler(events, name: Self.streamWriterName, position: .after(stateHandler))
            } catch {
                return eventLoop.makeFailedFuture(error)
            }
            return events.ended.futureResult
        }
        try await ended.get()
        // A connection kept alive serves its next request without the stream's writer.
        try? await channel.pipeline.removeHandler(name: Self.streamWriterName).get()
    }

    /// The name of an event stream's ``EventStreamWriter`` in its connection's pipeline.
    private static let streamWriterName = "parley-event-stream"
}
