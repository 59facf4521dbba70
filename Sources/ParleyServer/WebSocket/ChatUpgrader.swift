import Foundation
import NIOCore
import NIOHTTP1
import ParleyCore

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
            status: .badRequest,
            code: "bad_request",
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
            authorization: upgradeRequest.headers["Authorization"],
            cookies: upgradeRequest.headers["Cookie"],
            uri: upgradeRequest.uri
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
