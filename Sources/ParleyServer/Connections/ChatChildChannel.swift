import HTTPTypes
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import NIOHTTPTypesHTTP1
import NIOSSL
import NIOWebSocket
import ParleyCore
import ParleyProtocol

/// How each accepted TCP connection is served: counted against its address's cap (``ConnectionTracker``), guarded
/// while it speaks HTTP (``HTTPRequestGuard``), then HTTP requests go to Hummingbird's router and an upgrade of
/// `/ws` to ``ChatEndpoint`` as channel handlers only.
///
/// Hummingbird runs every connection in a task of its own for the connection's whole life; for a WebSocket that
/// task would hold its whole async call stack (about 19 KiB measured) while the connection idles. Here the upgrade
/// is set up on the event loop and the connection's task ends at once, so an idle chat connection costs no task.
struct ChatChildChannel: ServerChildChannel, HTTPChannelHandler {
    /// What the HTTP/1 handshake of a connection became.
    enum Negotiated: Sendable {
        /// A chat connection, served by its handlers.
        case webSocket
        /// Plain HTTP, served by the router.
        case http(NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>)
        /// An upgrade that was not accepted (another path, a bad handshake, a credential refused): answered with the
        /// refusal's status and a JSON error.
        case refusedUpgrade(NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>, ChatUpgrader.Refusal)
        /// A connection over its address's cap (answered `429` by ``ConnectionRefusal``) or over the server's
        /// (closed at once).
        case refusedConnection
    }

    struct Value: ServerChildChannelValue {
        let negotiated: EventLoopFuture<Negotiated>
        let channel: any Channel
    }

    let responder: HTTPChannelHandler.Responder
    let endpoint: ChatEndpoint
    let connections: ConnectionTracker
    let guardSettings: HTTPRequestGuard.Settings
    /// The certificate to serve TLS with, first in every connection's pipeline; `nil` for plain HTTP.
    let certificates: TLSCertificates?

    /// - Parameter responder: Hummingbird's router. A WebSocket upgrade can only start a connection; one that arrives
    ///   on a connection that already served HTTP (a proxy's kept-alive connection) is redirected to the same path
    ///   with `Connection: close`, so the client tries again on a new connection, as Hummingbird does.
    init(
        responder: @escaping HTTPChannelHandler.Responder,
        endpoint: ChatEndpoint,
        connections: ConnectionTracker,
        guardSettings: HTTPRequestGuard.Settings,
        certificates: TLSCertificates?
    ) {
        self.endpoint = endpoint
        self.connections = connections
        self.guardSettings = guardSettings
        self.certificates = certificates
        self.responder = { request, responseWriter, channel in
            guard request.headers[.upgrade]?.lowercased() == "websocket" else {
                return try await responder(request, responseWriter, channel)
            }
            var location = request.uri.path
            if let query = request.uri.query { location += "?\(query)" }
            let response = HTTPResponse(status: .temporaryRedirect, headerFields: [.connection: "close", .location: location])
            try await responseWriter.writeResponse(response)
            throw UpgradeOnUsedConnection()
        }
    }

    /// Ends a kept-alive connection after redirecting a WebSocket upgrade that arrived on it.
    private struct UpgradeOnUsedConnection: Error {}

    /// How each connection sizes its reads. NIO keeps a connection's last read buffer for the next read, so the
    /// first size is what an idle connection holds: 256 bytes (a client library's upgrade request fits in one read, a
    /// browser's in two or three) rather than NIO's 2,048; busy connections grow their buffer as their reads fill it.
    static let readSizes = AdaptiveRecvByteBufferAllocator(minimum: 64, initial: 256, maximum: 65536)

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        channel.eventLoop.makeCompletedFuture {
            try channel.syncOptions?.setOption(ChannelOptions.recvAllocator, value: Self.readSizes)
            if let certificates {
                try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: certificates.current))
            }
            let client: Allowance
            switch connections.admit(channel) {
            case .admitted(let admitted):
                client = admitted
            case .overAddressLimit:
                guardSettings.log.warning(
                    "refused a connection over the per-address limit",
                    metadata: ["address": "\(ConnectionTracker.addressKey(of: channel))"]
                )
                try channel.pipeline.syncOperations.addHandler(ConnectionRefusal.tooManyConnections)
                return Value(negotiated: channel.eventLoop.makeSucceededFuture(.refusedConnection), channel: channel)
            case .overConnectionLimit:
                channel.close(promise: nil)
                return Value(negotiated: channel.eventLoop.makeSucceededFuture(.refusedConnection), channel: channel)
            }
            let outcome = NIOLoopBoundBox(ChatUpgrader.Outcome.none, eventLoop: channel.eventLoop)
            let upgrader = ChatUpgrader(endpoint: endpoint, client: client, outcome: outcome)
            let upgrades = NIOTypedHTTPServerUpgradeConfiguration(
                upgraders: [upgrader],
                notUpgradingCompletionHandler: { channel in
                    channel.eventLoop.makeCompletedFuture {
                        let pipeline = channel.pipeline.syncOperations
                        try pipeline.addHandler(HTTP1ToHTTPServerCodec(secure: false))
                        try pipeline.addHandler(HTTPConnectionStateHandler(logger: logger))
                        let http = try NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>(
                            wrappingChannelSynchronously: channel,
                            configuration: .init(isOutboundHalfClosureEnabled: true)
                        )
                        switch outcome.value {
                        case .refused(let refusal): return .refusedUpgrade(http, refusal)
                        case .none, .accepted: return .http(http)
                        }
                    }
                }
            )
            var configuration = NIOUpgradableHTTPServerPipelineConfiguration(upgradeConfiguration: upgrades)
            // As Hummingbird configures its own HTTP/1 channel: it pipelines itself. Parse errors are answered by
            // the guard.
            configuration.enablePipelining = false
            configuration.enableErrorHandling = false
            configuration.enableResponseHeaderValidation = false
            configuration.decoderConfiguration.maxHeaderFieldSize = guardSettings.maxHeaderBytes
            configuration.decoderConfiguration.maxHeaderListSize = guardSettings.maxHeaderBytes
            configuration.decoderConfiguration.maxHeaderFieldCount = 100
            // The guard goes between the decoder and the upgrade handler (the last handler added).
            let pipeline = channel.pipeline.syncOperations
            let negotiated = try pipeline.configureUpgradableHTTPServerPipeline(configuration: configuration)
            let upgradeHandler = try pipeline.context(handlerType: NIOTypedHTTPServerUpgradeHandler<Negotiated>.self)
            try pipeline.addHandler(
                HTTPRequestGuard(settings: guardSettings),
                name: HTTPRequestGuard.name,
                position: .before(upgradeHandler.handler)
            )
            return Value(negotiated: negotiated, channel: channel)
        }
    }

    func handle(value: Value, logger: Logger) async {
        do {
            switch try await value.negotiated.get() {
            case .webSocket, .refusedConnection:
                return
            case .http(let http):
                await handleHTTP(asyncChannel: http, logger: logger)
            case .refusedUpgrade(let http, let refusal):
                try await http.executeThenClose { _, outbound in
                    let body = ByteBuffer(string: APIError(refusal.code, refusal.message).json)
                    let head = HTTPResponse(
                        status: .init(code: Int(refusal.status.code)),
                        headerFields: [
                            .connection: "close", .contentType: "application/json; charset=utf-8",
                            .contentLength: String(body.readableBytes), .cacheControl: "no-store",
                        ]
                    )
                    try await outbound.write(contentsOf: [.head(head), .body(body), .end(nil)])
                }
            }
        } catch {
            logger.debug("connection ended during the HTTP handshake", metadata: ["error": "\(error)"])
        }
    }
}
