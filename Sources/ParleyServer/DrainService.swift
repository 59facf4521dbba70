import Logging
import ParleyCore
import ServiceLifecycle

/// On graceful shutdown, before the HTTP server stops: refuses new clients, closes every client with 1001, and
/// waits until they are gone or the timeout passes.
struct DrainService: Service {
    let hub: Hub
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
    }
}
