import Crypto
import Foundation
import NIOCore
import NIOHTTP1
import NIOWebSocket
import ParleyCore

/// RFC 6455 on the wire, for a connection that has only its own handler in its pipeline: the upgrade's accept key
/// and the parsing of client frames.
enum WebSocketWire {
    /// What ``parseFrame(from:maxPayload:)`` found at the start of the buffer.
    enum Parsed {
        /// A whole frame, consumed from the buffer; its payload is still masked.
        case frame(WebSocketFrame)
        /// The frame is not all there yet; nothing was consumed.
        case needMoreBytes
        /// The frame's payload is over the limit; nothing was consumed.
        case tooLarge
    }

    /// Parses one frame (RFC 6455 §5.2) from the start of `buffer`, refusing payloads over `maxPayload` as soon as
    /// their length is read.
    static func parseFrame(from buffer: inout ByteBuffer, maxPayload: Int) -> Parsed {
        let start = buffer.readerIndex
        guard let first = buffer.getInteger(at: start, as: UInt8.self),
            let second = buffer.getInteger(at: start + 1, as: UInt8.self)
        else { return .needMoreBytes }
        var headerLength = 2
        var length = Int(second & 0x7F)
        if length == 126 {
            guard let extended = buffer.getInteger(at: start + 2, as: UInt16.self) else { return .needMoreBytes }
            length = Int(extended)
            headerLength = 4
        } else if length == 127 {
            guard let extended = buffer.getInteger(at: start + 2, as: UInt64.self) else { return .needMoreBytes }
            guard extended <= UInt64(maxPayload) else { return .tooLarge }
            length = Int(extended)
            headerLength = 10
        }
        guard length <= maxPayload else { return .tooLarge }
        var maskKey: WebSocketMaskingKey?
        if second & 0x80 != 0 {
            guard let key = buffer.getBytes(at: start + headerLength, length: 4) else { return .needMoreBytes }
            maskKey = WebSocketMaskingKey(key)
            headerLength += 4
        }
        guard buffer.readableBytes >= headerLength + length,
            let payload = buffer.getSlice(at: start + headerLength, length: length)
        else { return .needMoreBytes }
        buffer.moveReaderIndex(forwardBy: headerLength + length)
        let frame = WebSocketFrame(
            fin: first & 0x80 != 0, rsv1: first & 0x40 != 0, rsv2: first & 0x20 != 0, rsv3: first & 0x10 != 0,
            opcode: WebSocketOpcode(encodedWebSocketOpcode: first & 0x0F)!, maskKey: maskKey, data: payload
        )
        return .frame(frame)
    }

    /// A connection's frames across its reads: keeps the start of a frame that has not all arrived for the next read.
    struct FrameReader {
        let maxPayload: Int
        private var unparsed: ByteBuffer?

        init(maxPayload: Int) {
            self.maxPayload = maxPayload
        }

        /// Parses what `bytes`, after what earlier reads left, holds: `body` gets each whole frame and returns whether
        /// to go on. Whatever does not make a whole frame is kept for the next read.
        /// - Returns: `false` if a frame's payload is over ``maxPayload`` (nothing after it is parsed).
        mutating func read(_ bytes: ByteBuffer, _ body: (WebSocketFrame) -> Bool) -> Bool {
            var bytes = bytes
            if var unparsed = unparsed.take() {
                unparsed.writeBuffer(&bytes)
                bytes = unparsed
            }
            while true {
                switch parseFrame(from: &bytes, maxPayload: maxPayload) {
                case .frame(let frame):
                    guard body(frame) else { return true }
                case .needMoreBytes:
                    if bytes.readableBytes > 0 { unparsed = bytes }
                    return true
                case .tooLarge:
                    return false
                }
            }
        }
    }

    /// The `Sec-WebSocket-Accept` answering a client's `Sec-WebSocket-Key` (RFC 6455 §4.2.2).
    static func acceptValue(forKey key: String) -> String {
        let digest = Insecure.SHA1.hash(data: Array((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").utf8))
        return Data(digest).base64EncodedString()
    }
}

/// Upgrades `GET /ws` to a WebSocket served by Parley's own handler alone (no framework frame codec in the
/// pipeline): checks the handshake (RFC 6455 §4.2.1) and the credential the request presents, asks ``ChatEndpoint``
/// for the answer's headers and sets the connection up.
struct ChatUpgrader: NIOTypedHTTPServerProtocolUpgrader {
    typealias UpgradeResult = ChatChildChannel.Negotiated

    let supportedProtocol = "websocket"
    let requiredUpgradeHeaders: [String] = []
    let endpoint: ChatEndpoint
    /// The connection's client address and its allowance.
    let client: Allowance
    /// What came of the upgrade, for the connection to answer a refusal with (and to hand an accepted one's
    /// credential to its session).
    let outcome: NIOLoopBoundBox<Outcome>

    /// What came of an upgrade request.
    enum Outcome {
        /// No upgrade was asked for.
        case none
        /// Refused: answered with this status and error.
        case refused(Refusal)
        /// Accepted, with the credential the request presented (if any).
        case accepted(Credential?)
    }

    /// Why an upgrade request is not answered with `101`.
    struct Refusal: Error {
        var status: HTTPResponseStatus
        var code: String
        var message: String

        static let badHandshake = Refusal(status: .badRequest, code: "bad_request", message: "not a WebSocket handshake (RFC 6455)")
        static let notAWebSocketPath = Refusal(status: .badRequest, code: "bad_request", message: "WebSocket upgrades are served on /ws")
        static let credentialInURL = Refusal(
            status: .badRequest, code: "bad_request",
            message: "send credentials in the Authorization header, the session cookie or hello, never in the URL"
        )
    }

    func buildUpgradeResponse(
        channel: any Channel,
        upgradeRequest: HTTPRequestHead,
        initialResponseHeaders: HTTPHeaders
    ) -> EventLoopFuture<HTTPHeaders> {
        let eventLoop = channel.eventLoop
        guard Self.isValidHandshake(upgradeRequest) else { return refuse(.badHandshake, on: eventLoop) }
        guard var headers = endpoint.upgradeHeaders(for: upgradeRequest) else { return refuse(.notAWebSocketPath, on: eventLoop) }
        headers.add(contentsOf: initialResponseHeaders)
        headers.replaceOrAdd(name: "Upgrade", value: "websocket")
        headers.replaceOrAdd(name: "Connection", value: "upgrade")
        headers.add(name: "Sec-WebSocket-Accept", value: WebSocketWire.acceptValue(forKey: upgradeRequest.headers["Sec-WebSocket-Key"][0]))
        let presented = PresentedCredentials.presented(
            authorization: upgradeRequest.headers["Authorization"], cookies: upgradeRequest.headers["Cookie"], uri: upgradeRequest.uri
        )
        let credential: EventLoopFuture<Credential?>
        switch presented {
        case .inURL:
            return refuse(.credentialInURL, on: eventLoop)
        case .none:
            guard endpoint.guestsMayUpgrade(upgradeRequest) else {
                return refuse(ChatEndpoint.unauthorized("this server admits only signed-in users: sign in first"), on: eventLoop)
            }
            credential = eventLoop.makeSucceededFuture(nil)
        case .token(let token):
            let authenticated = eventLoop.makePromise(of: Credential?.self)
            authenticated.completeWithTask { try await endpoint.authenticate(token) }
            credential = authenticated.futureResult
        }
        let (outcome, answer) = (self.outcome, headers)
        return credential.flatMapErrorThrowing { error in
            throw error as? Refusal ?? ChatEndpoint.unauthorized("the server could not check the credential; try again")
        }.flatMapThrowing { credential in
            // The upgrade goes ahead: the HTTP guard leaves before the decoder passes on what follows the request
            // (it would be WebSocket bytes, not HTTP parts).
            let pipeline = channel.pipeline.syncOperations
            try pipeline.removeHandler(context: pipeline.context(name: HTTPRequestGuard.name), promise: nil)
            outcome.value = .accepted(credential)
            return answer
        }.flatMapErrorThrowing { error in
            let refusal = error as? Refusal ?? .badHandshake
            outcome.value = .refused(refusal)
            throw refusal
        }
    }

    private func refuse(_ refusal: Refusal, on eventLoop: any EventLoop) -> EventLoopFuture<HTTPHeaders> {
        outcome.value = .refused(refusal)
        return eventLoop.makeFailedFuture(refusal)
    }

    /// The opening handshake's checks (RFC 6455 §4.2.1): a `GET` over HTTP/1.1 or later with a `Host`, version 13,
    /// and one `Sec-WebSocket-Key` that is 16 bytes in base64.
    static func isValidHandshake(_ request: HTTPRequestHead) -> Bool {
        guard request.method == .GET, request.version.major == 1, request.version.minor >= 1,
            request.headers["Host"].count == 1, request.headers["Sec-WebSocket-Version"] == ["13"]
        else { return false }
        let keys = request.headers["Sec-WebSocket-Key"]
        guard keys.count == 1, let key = Data(base64Encoded: keys[0].trimmingCharacters(in: .whitespaces)) else { return false }
        return key.count == 16
    }

    func upgrade(channel: any Channel, upgradeRequest: HTTPRequestHead) -> EventLoopFuture<UpgradeResult> {
        channel.eventLoop.makeCompletedFuture {
            guard case .accepted(let credential) = outcome.value else { throw Refusal.badHandshake }
            try endpoint.accept(channel, head: upgradeRequest, client: client, credential: credential)
            return .webSocket
        }
    }
}
