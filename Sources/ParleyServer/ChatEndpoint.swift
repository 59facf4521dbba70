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
        let closeSent = CloseSent()
        let wire: WireWriter
        do {
            wire = try await WireWriter.install(on: channel, outbox: connection.outbox) { code, reason in
                Task {
                    try? await outbound.close(WebSocketErrorCode(codeNumber: Int(code.rawValue)), reason: reason)
                    closeSent.mark()
                }
            }
        } catch {
            hub.disconnect(connection)
            return
        }
        Self.dropIfCloseStalls(connection.outbox, closeSent: closeSent, channel: channel, metrics: hub.metrics)
        let pings = inspector.map { heartbeat.start(on: channel, wire: wire, inspector: $0) }
        defer { pings?.cancel() }
        let readError: (any Error)? = await withTaskGroup(of: Void.self) { group in
            // Ending the session stops its send pipeline, which the group waits for.
            defer { session.end() }
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
