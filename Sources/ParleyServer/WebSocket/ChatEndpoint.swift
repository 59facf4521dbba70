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
    static let closeFlushTimeout: TimeAmount = .seconds(2)

    /// What every chat connection shares (hub, store, limits, heartbeat).
    let settings: WebSocketConnection.Settings
    let originPolicy: OriginPolicy
    /// Where refusals are logged, a few a minute at most.
    let log: LogThrottle

    var hub: Hub { settings.hub }
    var limits: Limits { settings.limits }

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

    /// Whether an upgrade without credentials may go ahead: always for parley.v1 (its `hello` may carry a token);
    /// for plain mode, which has no `hello`, only while guests are allowed.
    func guestsMayUpgrade(_ head: HTTPRequestHead) -> Bool {
        Self.offersParley(head.headers) || (settings.sessionEnvironment.identity?.guestsAllowed ?? true)
    }

    /// The credential a token presented at the upgrade stands for.
    /// - Throws: ``ChatUpgrader/Refusal``: `401` when it stands for nothing, `403` for a user banned from the server.
    func authenticate(_ token: String) async throws -> Credential {
        guard let identity = settings.sessionEnvironment.identity else {
            throw Self.unauthorized("this server has no accounts")
        }
        let credential: Credential
        do {
            credential = try await identity.authenticate(token: token)
        } catch let failure as AuthenticationFailure {
            throw Self.unauthorized(failure.message)
        }
        if try await settings.sessionEnvironment.rooms.isBannedFromServer(credential.user.id) {
            throw ChatUpgrader.Refusal(status: .forbidden, code: "forbidden", message: "you are banned from this server")
        }
        return credential
    }

    /// A `401` refusal of an upgrade.
    static func unauthorized(_ message: String) -> ChatUpgrader.Refusal {
        ChatUpgrader.Refusal(status: .unauthorized, code: "unauthorized", message: message)
    }

    /// Sets up an upgraded connection, on its event loop: refuses it with a close code (origin, shutdown) or
    /// registers it with the hub and adds its ``WebSocketConnection`` handler.
    /// - Parameters:
    ///   - client: The client's address and its allowance, shared with its other connections.
    ///   - credential: What the upgrade request authenticated with, if anything.
    func accept(_ channel: any Channel, head: HTTPRequestHead, client: Allowance, credential: Credential?) throws {
        let pipeline = channel.pipeline.syncOperations
        let origin = head.headers.first(name: "Origin")
        guard originPolicy.allows(origin: origin, host: head.headers.first(name: "Host")) else {
            log.warning(
                "refused WebSocket from another origin",
                metadata: ["origin": "\(LogThrottle.clientValue(origin ?? ""))", "address": "\(client.holder)"]
            )
            return try pipeline.addHandler(WebSocketRefusal(code: .policyViolation, reason: "origin not allowed"))
        }
        let mode: Connection.Mode = Self.offersParley(head.headers) ? .parley : .plain
        guard let connection = hub.connect(mode: mode) else {
            return try pipeline.addHandler(WebSocketRefusal(code: .goingAway, reason: "server shutting down"))
        }
        try pipeline.addHandler(WebSocketConnection(connection: connection, settings: settings, client: client, credential: credential))
    }
}

/// Answers an upgraded connection the server will not serve with a close code, and closes it once the client has
/// answered (or after ``ChatEndpoint/closeFlushTimeout``).
final class WebSocketRefusal: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let code: WebSocketErrorCode
    private let reason: String
    private var frames = WebSocketWire.FrameReader(maxPayload: 125)

    init(code: WebSocketErrorCode, reason: String) {
        self.code = code
        self.reason = reason
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let frame = Frame.close(code: UInt16(webSocketErrorCode: code), reason: reason)
        context.writeAndFlush(wrapOutboundOut(frame), promise: nil)
        let channel = context.channel
        context.eventLoop.scheduleTask(in: ChatEndpoint.closeFlushTimeout) {
            channel.close(promise: nil)
        }
    }

    /// Reads frames only to see the client's close.
    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var closed = false
        let withinLimit = frames.read(unwrapInboundIn(data)) { frame in
            closed = frame.opcode == .connectionClose
            return !closed
        }
        if closed || !withinLimit { context.close(promise: nil) }
    }
}
