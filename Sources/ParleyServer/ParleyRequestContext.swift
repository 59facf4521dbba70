import Hummingbird

/// The request context of Parley's HTTP routes.
public struct ParleyRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
    }
}
