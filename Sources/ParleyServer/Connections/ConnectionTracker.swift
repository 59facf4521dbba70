import Logging
import NIOCore
import ParleyCore
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Every TCP connection the server has accepted and not yet closed.
///
/// - It keeps the server below its open file limit: past ``maxConnections`` a new connection is closed at once
///   (and the error logged). At the descriptor limit itself every accept would fail, and SwiftNIO retries a
///   listening socket that stays readable in a loop that takes a whole core while nobody is served.
/// - It counts connections per client address (HTTP and WebSocket alike), so one address cannot hold the server's
///   descriptors: past the address's cap a connection is answered `429` (``ConnectionRefusal``).
/// - It lets a shutdown end the connections the HTTP server would wait on forever: a connection accepted before its
///   first request (browsers open such sockets ahead of time) waits for that request without noticing the shutdown.
final class ConnectionTracker: Sendable {
    /// What becomes of an accepted connection.
    enum Admission {
        /// Served, drawing on its address's allowance.
        case admitted(Allowance)
        /// Its address has as many connections open as it may.
        case overAddressLimit
        /// The server holds as many connections as it may.
        case overConnectionLimit
    }

    /// Descriptors kept back from connections, for the database's files and connections, logs and the like.
    static func reserve(forOpenFileLimit limit: Int) -> Int { min(128, limit / 4) }

    /// The most connections a process whose open file limit is `limit` holds.
    static func maxConnections(forOpenFileLimit limit: Int) -> Int { max(1, limit - reserve(forOpenFileLimit: limit)) }

    /// The client addresses with connections open, and what each may do.
    let addresses: Allowances
    /// The most connections held at once, refused ones waiting to close included.
    let maxConnections: Int
    private let log: LogThrottle
    private let openCount = Atomic<Int>(0)
    private let open = Mutex<[ObjectIdentifier: any Channel]>([:])

    init(addresses: Allowances, maxConnections: Int, log: LogThrottle) {
        self.addresses = addresses
        self.maxConnections = maxConnections
        self.log = log
    }

    /// Counts an accepted connection and decides what becomes of it; every connection is forgotten when it closes.
    func admit(_ channel: any Channel) -> Admission {
        let count = openCount.wrappingAdd(1, ordering: .relaxed).newValue
        let admission: Admission
        if count > maxConnections {
            log.error(
                "connection limit reached: new connections are closed until some close",
                metadata: ["limit": "\(maxConnections)"]
            )
            admission = .overConnectionLimit
        } else if let client = addresses.admit(Self.addressKey(of: channel)) {
            open.withLock { $0[ObjectIdentifier(channel)] = channel }
            admission = .admitted(client)
        } else {
            admission = .overAddressLimit
        }
        channel.closeFuture.whenComplete { _ in
            self.openCount.subtract(1, ordering: .relaxed)
            if case .admitted(let client) = admission {
                _ = self.open.withLock { $0.removeValue(forKey: ObjectIdentifier(channel)) }
                self.addresses.release(client)
            }
        }
        return admission
    }

    /// Closes every connection still open.
    func closeAll() {
        let channels = open.withLock { Array($0.values) }
        for channel in channels { channel.close(promise: nil) }
    }

    /// What a connection's client is counted as: its IPv4 address, or the /64 network of its IPv6 address (a host
    /// or a home usually holds a whole /64, so counting single IPv6 addresses would count nothing).
    static func addressKey(of channel: any Channel) -> String {
        guard let address = channel.remoteAddress, let text = address.ipAddress else { return "unknown" }
        var bytes = [UInt8](repeating: 0, count: 16)
        guard case .v6 = address, inet_pton(AF_INET6, text, &bytes) == 1 else { return text }
        if bytes[0..<10].allSatisfy({ $0 == 0 }), bytes[10] == 0xFF, bytes[11] == 0xFF {
            return bytes[12...].map(String.init).joined(separator: ".")
        }
        let groups = stride(from: 0, to: 8, by: 2).map { String(UInt16(bytes[$0]) << 8 | UInt16(bytes[$0 + 1]), radix: 16) }
        return groups.joined(separator: ":") + "::/64"
    }
}

/// Answers a connection the server will not serve with a fixed HTTP response as soon as it is accepted, without
/// reading its request, then closes it once the client has read it (or after ``closeTimeout``).
final class ConnectionRefusal: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer

    static let closeTimeout: TimeAmount = .seconds(2)

    /// Over the per-address cap: `429`.
    static var tooManyConnections: ConnectionRefusal {
        ConnectionRefusal(
            status: "429 Too Many Requests",
            retryAfter: 10,
            code: "rate_limited",
            message: "too many connections from your address; close some and try again"
        )
    }

    private let response: String

    init(status: String, retryAfter: Int, code: String, message: String) {
        let body = #"{"error":{"code":"\#(code)","message":"\#(message)"}}"#
        response =
            "HTTP/1.1 \(status)\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: \(body.utf8.count)\r\n"
            + "Retry-After: \(retryAfter)\r\nConnection: close\r\nCache-Control: no-store\r\n\r\n\(body)"
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let channel = context.channel
        // Closing only the output lets the response reach the client before the connection ends: closing at once
        // with its request unread would reset the connection and could discard the response.
        context.writeAndFlush(NIOAny(context.channel.allocator.buffer(string: response))).whenComplete { _ in
            channel.close(mode: .output, promise: nil)
        }
        context.eventLoop.scheduleTask(in: Self.closeTimeout) { channel.close(promise: nil) }
    }

    /// Whatever the client sends is ignored; its end of the connection ends ours.
    func channelRead(context: ChannelHandlerContext, data: NIOAny) {}

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case ChannelEvent.inputClosed = event { context.close(promise: nil) }
    }
}
