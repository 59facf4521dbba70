import Foundation
import Logging
import ParleyServer
import ServiceLifecycle
import Synchronization

/// A Parley node on a free port of 127.0.0.1 with its own database file, for tests.
package struct LiveServer: Sendable {
    /// The port it listens on.
    package let port: Int
    private let group: ServiceGroup
    /// The WebSocket endpoint.
    package var webSocketURL: String { "ws://127.0.0.1:\(port)/ws" }
    /// The HTTP base address.
    package var httpURL: String { "http://127.0.0.1:\(port)" }

    /// Starts the node's graceful shutdown (as SIGTERM does): clients are closed with 1001.
    package func shutDown() async {
        await group.triggerGracefulShutdown()
    }

    /// A fresh temporary folder for database files.
    package static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("parley-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// Runs a node for the duration of `body`, then shuts it down gracefully.
    /// - Parameters:
    ///   - configuration: The node's configuration; its port is replaced by a free one and, unless a database
    ///     path other than the default is given, the database goes to a fresh temporary file.
    ///   - body: The test, given the running node.
    package static func with<Result: Sendable>(
        _ configuration: ServerConfiguration = ServerConfiguration(),
        _ body: (LiveServer) async throws -> Result
    ) async throws -> Result {
        var configuration = configuration
        configuration.port = 0
        if configuration.databasePath == ServerConfiguration().databasePath {
            configuration.databasePath = try temporaryDirectory().appendingPathComponent("parley.sqlite").path
        }
        var logger = Logger(label: "parley-test")
        logger.logLevel = .warning
        let server = try await ParleyServer(configuration: configuration, logger: logger)
        let listening = Signal()
        let port = Locked(0)
        let group = server.makeServiceGroup { address in
            port.withLock { $0 = Int(address.split(separator: ":").last!)! }
            listening.fire(nil)
        }
        let running = Task { try await group.run() }
        _ = await listening.wait()
        let live = LiveServer(port: port.withLock { $0 }, group: group)
        do {
            let result = try await body(live)
            await group.triggerGracefulShutdown()
            try await running.value
            return result
        } catch {
            await group.triggerGracefulShutdown()
            _ = try? await running.value
            throw error
        }
    }
}
