import Hummingbird
import NIOCore

/// The request context of Parley's HTTP routes.
public struct ParleyRequestContext: RequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The client's address (for per-address limits on sign-in).
    public let remoteAddress: SocketAddress?
    /// The connection the request came on (an event stream closes it when its client stops reading).
    let channel: any Channel

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.remoteAddress = source.channel.remoteAddress
        self.channel = source.channel
    }
}
