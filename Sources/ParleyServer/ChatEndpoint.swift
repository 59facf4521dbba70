import CoreMetrics
import HTTPTypes
import Hummingbird
import HummingbirdWebSocket
import Logging
import NIOCore
import NIOWebSocket
import ParleyCore
import ParleyProtocol

/// `GET /ws`: upgrades to WebSocket, speaks parley.v1 to clients that offer it and plain mode to the others.
struct ChatEndpoint: Sendable {
    /// The subprotocol of parley.v1.
    static let subprotocol = "parley.v1"
    /// How long a close frame may take to flush before the TCP connection is dropped.
    static let closeFlushTimeout: Duration = .seconds(2)

    let hub: Hub
    let store: any MessageStore
    let limits: Limits
    let originPolicy: OriginPolicy

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
        let mode: Connection.Mode = Self.offersParley(request.headers) ? .parley : .plain
        guard let connection = hub.connect(mode: mode) else {
            try await outbound.close(.goingAway, reason: "server shutting down")
            return
        }
        let session = Session(connection: connection, hub: hub, store: store, limits: limits)
        let channel = context.requestContext.channel
        let readError: (any Error)? = await withTaskGroup(of: Void.self) { group in
            group.addTask { await session.run() }
            group.addTask { await Self.writeFrames(from: connection.outbox, to: outbound, metrics: hub.metrics) }
            group.addTask { await Self.dropIfCloseStalls(connection.outbox, channel: channel) }
            defer { session.end() }
            do {
                for try await message in inbound.messages(maxSize: limits.maxFrameBytes) {
                    switch message {
                    case .text(let text): await session.receive(text: text)
                    case .binary: await session.receiveBinary()
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

    /// Writes what the outbox yields until it finishes or asks for a close.
    static func writeFrames(from outbox: Outbox, to outbound: WebSocketOutboundWriter, metrics: ParleyMetrics) async {
        do {
            while true {
                switch await outbox.next() {
                case .frames(let frames):
                    for frame in frames {
                        try await outbound.write(.custom(WebSocketFrame(fin: true, opcode: .text, data: frame)))
                    }
                case .close(let code, let reason):
                    if code == .slowConsumer { metrics.slowConsumerCloses.increment() }
                    try await outbound.close(WebSocketErrorCode(codeNumber: Int(code.rawValue)), reason: reason)
                    return
                case .finished:
                    return
                }
            }
        } catch {
            outbox.finish()
        }
    }

    /// Once a close is asked for, gives the close handshake ``closeFlushTimeout`` and then drops the connection:
    /// a client that stopped reading cannot hold it open.
    static func dropIfCloseStalls(_ outbox: Outbox, channel: any Channel) async {
        guard await outbox.waitUntilClosing() else { return }
        let deadline = ContinuousClock.now + closeFlushTimeout
        while ContinuousClock.now < deadline {
            if outbox.hasFinished || !channel.isActive { return }
            try? await Task.sleep(for: .milliseconds(50))
        }
        channel.close(promise: nil)
    }
}
