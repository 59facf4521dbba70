import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOWebSocket

/// Why a run could not be made.
package enum BenchError: Error, CustomStringConvertible {
    /// The URL is not `ws://HOST[:PORT][/PATH]`.
    case unsupportedURL(String)
    /// Not one client could connect and join.
    case noClientConnected(url: String, reason: String)

    package var description: String {
        switch self {
        case .unsupportedURL(let url):
            "--url must be ws://HOST[:PORT][/PATH], got \(url) (parley-bench does not speak TLS: point it at the server, not at its TLS proxy)"
        case .noClientConnected(let url, let reason):
            "no client could connect to \(url): \(reason)"
        }
    }
}

/// Where a run's clients connect, from a `ws://` URL.
struct BenchEndpoint: Sendable {
    let host: String
    let port: Int
    /// The path and query of the upgrade request.
    let target: String

    init(url: String) throws(BenchError) {
        guard let components = URLComponents(string: url), components.scheme?.lowercased() == "ws",
            let host = components.host, !host.isEmpty
        else { throw .unsupportedURL(url) }
        self.host = host
        port = components.port ?? 80
        target =
            (components.percentEncodedPath.isEmpty ? "/" : components.percentEncodedPath)
            + (components.percentEncodedQuery.map { "?" + $0 } ?? "")
    }

    /// The `Host` header: the name (an IPv6 address in brackets) and the port.
    var hostHeader: String {
        "\(host.contains(":") ? "[\(host)]" : host):\(port)"
    }
}

/// Opens a run's connections: TCP, the HTTP upgrade, then a ``BenchClient`` on each, all on NIO event loops.
struct BenchConnector: Sendable {
    /// Where the senders connect.
    let senderEndpoint: BenchEndpoint
    /// Where the other clients connect (the same server, or another node of its cluster).
    let readerEndpoint: BenchEndpoint
    let group: any EventLoopGroup
    let run: BenchRunContext

    /// The subprotocol the clients offer: `parley.v1`, or for a plain server the one configured (if any).
    private var subprotocol: String? {
        switch run.configuration.dialect {
        case .parley: "parley.v1"
        case .plain(let subprotocol): subprotocol
        }
    }

    /// Connects client `index`; the future fails when the connection or the upgrade does.
    func connect(index: Int) -> EventLoopFuture<Void> {
        if run.configuration.eventStreams, index >= run.configuration.senders { return connectEventStream(index: index) }
        let endpoint = index < run.configuration.senders ? senderEndpoint : readerEndpoint
        let eventLoop = group.next()
        let upgraded = eventLoop.makePromise(of: Bool.self)
        let connectStarted = run.clock.now()
        let (run, subprotocol) = (run, subprotocol)
        ClientBootstrap(group: eventLoop)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let upgrader = NIOTypedWebSocketClientUpgrader<Bool>(
                        maxFrameSize: 1 << 20,
                        enableAutomaticErrorHandling: false
                    ) { channel, _ in
                        // The client reads frames itself (WebSocketFrameReader): NIO's decoder leaves; its encoder
                        // stays for what the client sends.
                        channel.eventLoop.makeCompletedFuture {
                            let pipeline = channel.pipeline.syncOperations
                            return pipeline.removeHandler(try pipeline.handler(type: ByteToMessageHandler<WebSocketFrameDecoder>.self))
                        }.flatMap { $0 }.flatMapThrowing {
                            try channel.pipeline.syncOperations.addHandler(BenchClient(index: index, run: run, connectStarted: connectStarted))
                            return true
                        }
                    }
                    var headers = HTTPHeaders([("Host", endpoint.hostHeader)])
                    if let subprotocol { headers.add(name: "Sec-WebSocket-Protocol", value: subprotocol) }
                    let upgrade = NIOTypedHTTPClientUpgradeConfiguration(
                        upgradeRequestHead: HTTPRequestHead(version: .http1_1, method: .GET, uri: endpoint.target, headers: headers),
                        upgraders: [upgrader],
                        notUpgradingCompletionHandler: { channel in
                            channel.close(promise: nil)
                            return channel.eventLoop.makeSucceededFuture(false)
                        }
                    )
                    var configuration = NIOUpgradableHTTPClientPipelineConfiguration(upgradeConfiguration: upgrade)
                    // Whatever the server sends right after its 101 is WebSocket frames for the client.
                    configuration.leftOverBytesStrategy = .forwardBytes
                    try channel.pipeline.syncOperations.configureUpgradableHTTPClientPipeline(configuration: configuration)
                        .cascade(to: upgraded)
                }
            }
            .connect(host: endpoint.host, port: endpoint.port)
            .cascadeFailure(to: upgraded)
        return upgraded.futureResult.flatMapThrowing { accepted in
            guard accepted else { throw BenchUpgradeRefused() }
        }
    }
}

extension BenchConnector {
    /// Connects client `index` as an event stream's subscriber: plain HTTP/1.1, no upgrade.
    private func connectEventStream(index: Int) -> EventLoopFuture<Void> {
        let connectStarted = run.clock.now()
        let (run, endpoint) = (run, readerEndpoint)
        return ClientBootstrap(group: group.next())
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(
                        BenchEventStreamClient(index: index, run: run, endpoint: endpoint, connectStarted: connectStarted)
                    )
                }
            }
            .connect(host: endpoint.host, port: endpoint.port)
            .map { _ in }
    }
}

/// The server answered the upgrade request with something other than 101.
struct BenchUpgradeRefused: Error, CustomStringConvertible {
    var description: String { "the server refused the WebSocket upgrade" }
}
