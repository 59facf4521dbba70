import CoreMetrics
import HTTPTypes
import Hummingbird
import HummingbirdWebSocket
import Logging
import NIOCore
import NIOWebSocket
import ParleyCore
import ParleyProtocol
import Synchronization

/// `GET /ws`: upgrades to WebSocket, speaks parley.v1 to clients that offer it and plain mode to the others.
struct ChatEndpoint: Sendable {
    /// The subprotocol of parley.v1.
    static let subprotocol = "parley.v1"
    /// How long a close frame may take to be written, and then how long the client has to answer it, before the TCP
    /// connection is dropped.
    static let closeFlushTimeout: Duration = .seconds(2)

    let hub: Hub
    let store: any MessageStore
    let limits: Limits
    let originPolicy: OriginPolicy
    let heartbeat: Heartbeat
    let addressLimiter: AddressLimiter

    /// Accepts every upgrade, selecting parley.v1 when the client offers it; the origin is checked once upgraded,
    /// so a refused browser learns why from the close code instead of a bare 400.
    func shouldUpgrade(_ request: Request) -> RouterShouldUpgrade {
        Self.offersParley(request.headers) ? .upgrade([.secWebSocketProtocol: Self.subprotocol]) : .upgrade([:])
    }

    static func offersParley(_ headers: HTTPFields) -> Bool {
        headers[values: .secWebSocketProtocol].contains { value in
            value.split(separator: ",").contains { $0.split(separator: " ").first == Substring(subprotocol) }
        }
    }

    func handle(
        _ inbound: WebSocketInboundStream,
        _ outbound: WebSocketOutboundWriter,
        _ context: WebSocketRouterContext<ParleyRequestContext>
    ) async throws {
        let request = context.request
        let origin = request.headers[.origin]
        guard originPolicy.allows(origin: origin, host: request.head.authority) else {
            context.logger.warning("refused WebSocket from another origin", metadata: ["origin": "\(origin ?? "")"])
            try await outbound.close(.policyViolation, reason: "origin not allowed")
            return
        }
        let channel = context.requestContext.channel
        let address = channel.remoteAddress?.ipAddress ?? "unknown"
        guard addressLimiter.acquire(address) else {
            context.logger.warning("refused WebSocket over the per-address limit", metadata: ["address": "\(address)"])
            try await outbound.close(.policyViolation, reason: "too many connections from your address")
            return
        }
        defer { addressLimiter.release(address) }
        let mode: Connection.Mode = Self.offersParley(request.headers) ? .parley : .plain
        guard let connection = hub.connect(mode: mode) else {
            try await outbound.close(.goingAway, reason: "server shutting down")
            return
        }
        let session = Session(connection: connection, hub: hub, store: store, limits: limits)
        let inspector = try? await FrameInspector.install(on: channel, metrics: hub.metrics)
        guard let wire = try? await WireWriter.install(on: channel) else {
            hub.disconnect(connection)
            return
        }
        let closeSent = CloseSent()
        Self.dropIfCloseStalls(connection.outbox, closeSent: closeSent, channel: channel, metrics: hub.metrics)
        let readError: (any Error)? = await withTaskGroup(of: Void.self) { group in
            group.addTask {
                await Self.writeFrames(from: connection.outbox, to: outbound, wire: wire, closeSent: closeSent)
            }
            let pings = inspector.map { heartbeat.start(on: channel, wire: wire, inspector: $0) }
            defer {
                pings?.cancel()
                session.end()
                group.cancelAll()
            }
            do {
                // The send pipeline starts with the first send: a connection that only listens costs no task for it.
                var sendPipelineStarted = false
                for try await message in inbound.messages(maxSize: limits.maxFrameBytes) {
                    switch message {
                    case .text(let text): await session.receive(text: text)
                    case .binary: await session.receiveBinary()
                    }
                    if !sendPipelineStarted, session.hasQueuedSends {
                        sendPipelineStarted = true
                        group.addTask { await session.run() }
                    }
                }
                return nil
            } catch {
                return error
            }
        }
        // A protocol violation (invalid UTF-8, an oversized message) carries the close code the framework sends.
        if let readError {
            hub.metrics.protocolViolations.increment()
            throw readError
        }
    }

    /// Writes what the outbox yields until it finishes or asks for a close. After an overflow the frames still in
    /// hand are abandoned, so the 4008 close goes out as soon as the socket takes it.
    ///
    /// Each batch is every frame queued since the last one, written with one event-loop hop and one flush; the next
    /// batch waits until this one reached the socket, so a busy connection writes many frames per system call.
    static func writeFrames(
        from outbox: Outbox,
        to outbound: WebSocketOutboundWriter,
        wire: WireWriter,
        closeSent: CloseSent
    ) async {
        do {
            while true {
                switch await outbox.next() {
                case .frames(let frames):
                    try await wire.write(frames, stopping: { outbox.hasOverflowed }).get()
                case .close(let code, let reason):
                    try await outbound.close(WebSocketErrorCode(codeNumber: Int(code.rawValue)), reason: reason)
                    closeSent.mark()
                    return
                case .finished:
                    return
                }
            }
        } catch {
            outbox.finish()
        }
    }

    /// Once a close is asked for, gives the close frame ``closeFlushTimeout`` to be written and the client as long
    /// again to answer it, and otherwise drops the connection: a client that stopped reading cannot hold it open.
    /// Timers on the connection's event loop, not a task per connection.
    static func dropIfCloseStalls(_ outbox: Outbox, closeSent: CloseSent, channel: any Channel, metrics: ParleyMetrics) {
        outbox.whenClosing { closing in
            guard closing else { return }
            if outbox.hasOverflowed { metrics.slowConsumerCloses.increment() }
            let timeout = TimeAmount.nanoseconds(closeFlushTimeout.nanoseconds)
            let eventLoop = channel.eventLoop
            @Sendable func ended() -> Bool { outbox.hasFinished || !channel.isActive }
            eventLoop.scheduleTask(in: timeout) {
                guard closeSent.isMarked || ended() else {
                    channel.close(promise: nil)
                    return
                }
                eventLoop.scheduleTask(in: timeout) {
                    if !ended() { channel.close(promise: nil) }
                }
            }
        }
    }
}

/// Set by a connection's writer once its close frame is written.
final class CloseSent: Sendable {
    private let sent = Atomic<Bool>(false)

    func mark() { sent.store(true, ordering: .relaxed) }

    var isMarked: Bool { sent.load(ordering: .relaxed) }
}
