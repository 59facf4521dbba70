import Logging
import NIOCore
import NIOHTTP1
import ParleyCore

/// Bounds what an HTTP client may hold before it is served, right behind the request decoder of every connection
/// until it becomes a WebSocket:
///
/// - a request must arrive whole (head and body) within ``Settings/requestTimeout`` of the connection's start, and
///   the next one within ``Settings/idleTimeout`` of the previous response: a client that sends nothing, or one byte
///   every few seconds, is answered `408` and closed;
/// - a request the decoder cannot parse (a header block over ``Settings/maxHeaderBytes``, a method it does not
///   know, bytes that are not HTTP) is answered `431` or `400` and closed, instead of being held open;
/// - an HTTP/1.1 request without `Host`, or one naming a host the ``HostPolicy`` refuses (DNS rebinding), is
///   answered `400` or `403` and closed before any route or upgrade sees it.
///
/// Every refusal carries a JSON body `{"error":{"code":…,"message":…}}`.
final class HTTPRequestGuard: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    /// The guard's name in the pipeline, by which the upgrade removes it.
    static let name = "parley.http-guard"

    /// What every connection's guard shares.
    struct Settings: Sendable {
        /// How long a new connection has to send its first request, whole.
        var requestTimeout: TimeAmount
        /// How long a kept-alive connection may wait for its next request (which must then arrive whole).
        var idleTimeout: TimeAmount
        /// The largest request header block, request line included.
        var maxHeaderBytes: Int
        /// Which `Host` names are answered.
        var hostPolicy: HostPolicy
        /// Where refusals are logged, a few a minute at most.
        var log: LogThrottle
    }

    private let settings: Settings
    private var deadline: Scheduled<Void>?
    /// Requests read whole less responses finished (below zero when a response ends before its request's body).
    private var owed = 0
    /// A request's head has been read and its end has not.
    private var readingRequest = false
    /// A refusal was written: nothing more is read.
    private var refused = false

    init(settings: Settings) {
        self.settings = settings
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { arm(settings.requestTimeout, context: context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        if deadline == nil { arm(settings.requestTimeout, context: context) }
        context.fireChannelActive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        deadline?.cancel()
        deadline = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        deadline?.cancel()
        deadline = nil
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !refused else { return }
        switch unwrapInboundIn(data) {
        case .head(let head):
            if let (status, code, message) = refusal(of: head) {
                settings.log.warning(
                    "refused an HTTP request",
                    metadata: [
                        "status": "\(status.code)", "host": "\(LogThrottle.clientValue(head.headers.first(name: "Host") ?? ""))",
                        "address": "\(context.channel.remoteAddress?.ipAddress ?? "unknown")",
                    ]
                )
                return refuse(context: context, status: status, code: code, message: message)
            }
            readingRequest = true
            if deadline == nil { arm(settings.requestTimeout, context: context) }
        case .body:
            break
        case .end:
            readingRequest = false
            owed += 1
            deadline?.cancel()
            deadline = nil
            if owed <= 0 { arm(settings.idleTimeout, context: context) }
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) {
            owed -= 1
            if owed <= 0, !readingRequest { arm(settings.idleTimeout, context: context) }
        }
        context.write(data, promise: promise)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard let parserError = error as? HTTPParserError else { return context.fireErrorCaught(error) }
        guard !refused else { return }
        if case .headerOverflow = parserError {
            refuse(
                context: context,
                status: .requestHeaderFieldsTooLarge,
                code: "bad_request",
                message: "the request's headers are over \(settings.maxHeaderBytes) bytes"
            )
        } else {
            refuse(context: context, status: .badRequest, code: "bad_request", message: "the request is not valid HTTP/1.1")
        }
    }

    /// Why a request head is not served, if it is not.
    private func refusal(of head: HTTPRequestHead) -> (HTTPResponseStatus, String, String)? {
        let hosts = head.headers["Host"]
        guard let host = hosts.first else {
            guard head.version.major == 1, head.version.minor == 0 else {
                return (.badRequest, "bad_request", "an HTTP/1.1 request must carry a Host header")
            }
            return nil
        }
        guard hosts.count == 1 else { return (.badRequest, "bad_request", "a request carries one Host header") }
        guard settings.hostPolicy.allows(host: host) else {
            return (
                .forbidden, "forbidden",
                "this server does not answer to that host name; its operator can add it with --public-host"
            )
        }
        return nil
    }

    /// Answers with an error and closes the connection.
    private func refuse(context: ChannelHandlerContext, status: HTTPResponseStatus, code: String, message: String) {
        refused = true
        deadline?.cancel()
        deadline = nil
        let body = context.channel.allocator.buffer(string: #"{"error":{"code":"\#(code)","message":"\#(message)"}}"#)
        let head = HTTPResponseHead(
            version: .http1_1,
            status: status,
            headers: [
                "Content-Type": "application/json; charset=utf-8", "Content-Length": "\(body.readableBytes)",
                "Connection": "close", "Cache-Control": "no-store",
            ]
        )
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        context.close(promise: nil)
    }

    private func arm(_ timeout: TimeAmount, context: ChannelHandlerContext) {
        deadline?.cancel()
        let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
        let loopBoundContext = NIOLoopBound(context, eventLoop: context.eventLoop)
        deadline = context.eventLoop.scheduleTask(in: timeout) {
            handler.value.timedOut(context: loopBoundContext.value)
        }
    }

    /// The client took too long: `408` if no response has begun, then the end of the connection.
    private func timedOut(context: ChannelHandlerContext) {
        deadline = nil
        guard !refused else { return }
        if owed <= 0 {
            refuse(
                context: context,
                status: .requestTimeout,
                code: "bad_request",
                message: "the request did not arrive whole in time; send it at once"
            )
        } else {
            refused = true
            context.close(promise: nil)
        }
    }
}
