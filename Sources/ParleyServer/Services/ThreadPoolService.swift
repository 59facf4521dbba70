import NIOPosix
import ServiceLifecycle

/// Keeps a thread pool for as long as the node runs, and stops its threads when the node stops (nodes started in
/// tests would otherwise leave threads behind).
struct ThreadPoolService: Service {
    let pool: NIOThreadPool

    func run() async throws {
        try? await gracefulShutdown()
        try await pool.shutdownGracefully()
    }
}
