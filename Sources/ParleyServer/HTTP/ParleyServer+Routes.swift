import Hummingbird
import NIOCore
import ParleyCore
import Prometheus

extension ParleyServer {
    /// The plain HTTP routes: health, readiness, metrics, accounts, the chat API (sharing the WebSocket sessions'
    /// hub, stores and allowances, and their event loops' drain queues), and the web client (embedded, or from
    /// `--web-root`).
    func makeRouter(sessions: Session.Environment, drainQueues: PerEventLoop<DrainQueue>) -> Router<ParleyRequestContext> {
        let router = Router(context: ParleyRequestContext.self)
        router.add(middleware: APIFallbackMiddleware(document: Self.openAPIDocument))
        let store = self.store
        let broker = self.broker
        router.get("/healthz") { _, _ in
            Self.json(.ok, #"{"status":"ok"}"#)
        }
        router.get("/readyz") { _, _ in
            if let broker, !broker.isConnected {
                return Self.json(.serviceUnavailable, #"{"status":"unavailable","error":"the link to the other nodes (LISTEN) is down"}"#)
            }
            if await Self.isReachable(store, within: .seconds(2)) {
                return Self.json(.ok, #"{"status":"ready"}"#)
            }
            return Self.json(.serviceUnavailable, #"{"status":"unavailable","error":"the message store cannot be reached"}"#)
        }
        let registry = metricsRegistry
        router.get("/metrics") { _, _ in
            Response(
                status: .ok,
                headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8", .cacheControl: "no-store"],
                body: .init(byteBuffer: ByteBuffer(bytes: registry.emitToBuffer()))
            )
        }
        addAccountRoutes(to: router)
        addChatRoutes(to: router, sessions: sessions, drainQueues: drainQueues)
        router.get("/ws") { _, _ in
            Self.json(.upgradeRequired, #"{"error":"/ws is a WebSocket endpoint: connect with a WebSocket client"}"#)
        }
        if let webRoot = configuration.webRoot {
            router.add(middleware: WebRootMiddleware(folder: webRoot))
        } else {
            router.add(middleware: WebClientMiddleware(client: .embedded))
        }
        return router
    }

    static func json(_ status: HTTPResponse.Status, _ body: String) -> Response {
        Response(
            status: status,
            headers: [.contentType: "application/json; charset=utf-8", .cacheControl: "no-store"],
            body: .init(byteBuffer: ByteBuffer(string: body))
        )
    }

    static func isReachable(_ store: any MessageStore, within timeout: Duration) async -> Bool {
        await withTaskGroup(of: Bool.self) { group in
            group.addTask { (try? await store.checkReachable()) != nil }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return false
            }
            let first = await group.next() ?? false
            group.cancelAll()
            return first
        }
    }
}
