import Logging
import NIOCore
import NIOHTTP1
import NIOWebSocket
import ParleyCore
import ParleyProtocol

/// `GET /ws`: upgrades to WebSocket, speaks parley.v1 to clients that offer it and plain mode to the others.
///
/// Both steps run on the connection's event loop, without a task: ``upgradeHeaders(for:)`` answers the upgrade
/// request, ``accept(_:head:)`` sets the upgraded connection up.
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
    let logger: Logger

    /// The headers of the `101` answer to a WebSocket upgrade of `/ws`, selecting parley.v1 when the client offers
    /// it; `nil` for any other path (answered `400`). Every upgrade of `/ws` is accepted: the origin is checked once
    /// upgraded, so a refused browser learns why from the close code instead of a bare `400`.
    func upgradeHeaders(for head: HTTPRequestHead) -> HTTPHeaders? {
        guard head.uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first == "/ws" else {
            return nil
        }
        return Self.offersParley(head.headers) ? ["Sec-WebSocket-Protocol": Self.subprotocol] : [:]
    }

    static func offersParley(_ headers: HTTPHeaders) -> Bool {
        headers["Sec-WebSocket-Protocol"].contains { value in
            value.split(separator: ",").contains { $0.split(separator: " ").first == Substring(subprotocol) }
        }
    }

    /// Sets up an upgraded connection, on its event loop: refuses it with a close code (origin, per-address limit,
    /// shutdown) or registers it with the hub and adds its ``WebSocketConnection`` handler.
    func accept(_ channel: any Channel, head: HTTPRequestHead) throws {
        let pipeline = channel.pipeline.syncOperations
        let tap = WireTap()
        try pipeline.addHandler(tap, position: .before(pipeline.handler(type: WebSocketFrameEncoder.self)))
        let wire = try pipeline.context(handler: tap)
        let origin = head.headers.first(name: "Origin")
        guard originPolicy.allows(origin: origin, host: head.headers.first(name: "Host")) else {
            logger.warning("refused WebSocket from another origin", metadata: ["origin": "\(origin ?? "")"])
            return try pipeline.addHandler(WebSocketRefusal(wire: wire, code: .policyViolation, reason: "origin not allowed"))
        }
        let address = channel.remoteAddress?.ipAddress ?? "unknown"
        guard addressLimiter.acquire(address) else {
            logger.warning("refused WebSocket over the per-address limit", metadata: ["address": "\(address)"])
            return try pipeline.addHandler(
                WebSocketRefusal(wire: wire, code: .policyViolation, reason: "too many connections from your address")
            )
        }
        let mode: Connection.Mode = Self.offersParley(head.headers) ? .parley : .plain
        guard let connection = hub.connect(mode: mode) else {
            addressLimiter.release(address)
            return try pipeline.addHandler(WebSocketRefusal(wire: wire, code: .goingAway, reason: "server shutting down"))
        }
        // The socket may hold as much again as the outbox before the writer stops taking from it: a reader that falls
        // behind for a moment has the outbox's bound plus this before it is a slow consumer.
        try channel.syncOptions?.setOption(
            ChannelOptions.writeBufferWaterMark,
            value: .init(low: limits.outboxBytes / 2, high: max(limits.outboxBytes, 1))
        )
        let settings = WebSocketConnection.Settings(
            hub: hub, store: store, limits: limits, heartbeat: heartbeat,
            closeFlushTimeout: .nanoseconds(Self.closeFlushTimeout.nanoseconds)
        )
        let addressLimiter = self.addressLimiter
        try pipeline.addHandler(
            WebSocketConnection(connection: connection, wire: wire, settings: settings) {
                addressLimiter.release(address)
            }
        )
    }
}

/// Answers an upgraded connection the server will not serve with a close code, and closes it once the client has
/// answered (or after ``ChatEndpoint/closeFlushTimeout``).
final class WebSocketRefusal: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = WebSocketFrame

    private let wire: ChannelHandlerContext
    private let code: WebSocketErrorCode
    private let reason: String

    init(wire: ChannelHandlerContext, code: WebSocketErrorCode, reason: String) {
        self.wire = wire
        self.code = code
        self.reason = reason
    }

    func handlerAdded(context: ChannelHandlerContext) {
        wire.writeAndFlush(NIOAny(Frame.close(code: UInt16(webSocketErrorCode: code), reason: reason)), promise: nil)
        let channel = context.channel
        context.eventLoop.scheduleTask(in: .nanoseconds(ChatEndpoint.closeFlushTimeout.nanoseconds)) {
            channel.close(promise: nil)
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if unwrapInboundIn(data).opcode == .connectionClose { context.close(promise: nil) }
    }
}
