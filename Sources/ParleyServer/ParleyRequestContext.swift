import Hummingbird
import HummingbirdWebSocket
import NIOCore

/// The request context of Parley's routes: Hummingbird's, plus the channel, so a WebSocket that will not close
/// politely can be dropped.
public struct ParleyRequestContext: RequestContext, WebSocketRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let webSocket: WebSocketHandlerReference<Self>
    /// The connection's channel.
    public let channel: any Channel

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.webSocket = .init()
        self.channel = source.channel
    }
}
