import Logging
import ParleyCore
import ServiceLifecycle

/// On graceful shutdown, before the HTTP server stops: refuses new clients, closes every client with 1001, and
/// waits until they are gone or the timeout passes. Then, while the HTTP server stops, it gives the remaining
/// connections (HTTP keep-alive, sockets opened ahead of a request) a short grace and closes them, so the HTTP
/// server is never left waiting on them.
struct DrainService: Service {
    /// How long HTTP connections get to finish once the WebSocket clients are gone.
    static let httpGrace: Duration = .seconds(2)

    let hub: Hub
    let connections: ConnectionTracker
    let timeout: Duration
    let logger: Logger

    func run() async throws {
        do {
            try await gracefulShutdown()
        } catch {
            return
        }
        let open = hub.connectionCount
        logger.info("draining", metadata: ["connections": "\(open)"])
        hub.drain()
        let deadline = ContinuousClock.now + timeout
        while hub.connectionCount > 0, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
        logger.info("drained", metadata: ["connections left": "\(hub.connectionCount)"])
        let connections = self.connections
        Task {
            try? await Task.sleep(for: Self.httpGrace)
            connections.closeAll()
        }
    }
}
