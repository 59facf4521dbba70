#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import NIOCore
import ParleyCore
import Synchronization

/// Every TCP connection the server has accepted and not yet closed, each counted against its client address's cap
/// (HTTP and WebSocket alike), so that one address cannot hold the server's descriptors, and so that a shutdown can
/// end the connections the HTTP server would wait on forever: a connection accepted before its first request
/// (browsers open such sockets ahead of time) waits for that request without noticing the shutdown.
final class ConnectionTracker: Sendable {
    /// The client addresses with connections open, and what each may do.
    let addresses: ClientAddresses
    private let open = Mutex<[ObjectIdentifier: any Channel]>([:])

    init(addresses: ClientAddresses) {
        self.addresses = addresses
    }

    /// Registers an accepted connection under its address.
    /// - Returns: The address's allowance, or `nil` (and the connection is not registered) when the address has as
    ///   many connections open as it may.
    func admit(_ channel: any Channel) -> ClientAddress? {
        guard let client = addresses.admit(Self.addressKey(of: channel)) else { return nil }
        open.withLock { $0[ObjectIdentifier(channel)] = channel }
        channel.closeFuture.whenComplete { _ in
            _ = self.open.withLock { $0.removeValue(forKey: ObjectIdentifier(channel)) }
            self.addresses.release(client)
        }
        return client
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

/// Answers a connection the server will not serve with a fixed HTTP response as soon as it is accepted, then
/// closes it once the client has read it (or after ``closeTimeout``), without reading its request.
final class ConnectionRefusal: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer

    static let closeTimeout: TimeAmount = .seconds(2)

    /// Over the per-address cap: `429`.
    static var tooManyConnections: ConnectionRefusal {
        ConnectionRefusal(
            status: "429 Too Many Requests", retryAfter: 10, code: "rate_limited",
            message: "too many connections from your address; close some and try again"
        )
    }

    private let response: String

    init(status: String, retryAfter: Int, code: String, message: String) {
        let body = #"{"error":{"code":"\#(code)","message":"\#(message)"}}"#
        response = "HTTP/1.1 \(status)\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: \(body.utf8.count)\r\n"
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
}
