/// Decides which `Host` names the server answers to, against DNS rebinding: a page on `evil.example` whose name the
/// attacker points at 127.0.0.1 reaches a loopback server with `Host: evil.example` (and an `Origin` on the same
/// host, so the origin check alone would pass it).
///
/// - On a loopback bind (`127.0.0.1`, `::1`, `localhost`) only loopback names and the `--public-host` names are
///   answered.
/// - On any other bind with `--public-host` names given, those, loopback names and IP literals are answered.
/// - On any other bind without them, every name is answered (the server is reached by whatever names point at it).
///
/// HTTP requests and WebSocket upgrades are checked alike.
public struct HostPolicy: Sendable {
    private let publicHosts: Set<String>
    private let restricted: Bool

    /// - Parameters:
    ///   - bindHost: The address the server listens on (`--host`).
    ///   - publicHosts: The names clients use to reach it besides loopback ones (`--public-host`), e.g. the name a
    ///     reverse proxy passes on; a port, if given, is ignored.
    public init(bindHost: String, publicHosts: [String]) {
        self.publicHosts = Set(publicHosts.compactMap { OriginPolicy.hostName(ofAuthority: $0.lowercased()) })
        let bind = bindHost.lowercased()
        restricted = OriginPolicy.isLoopback(bind.hasPrefix("[") || !bind.contains(":") ? bind : "[\(bind)]") || !publicHosts.isEmpty
    }

    /// Whether a request carrying this `Host` header is answered. A request without one is left to the caller
    /// (HTTP/1.0 may omit it; a WebSocket upgrade may not).
    public func allows(host: String) -> Bool {
        guard restricted else { return true }
        guard let name = OriginPolicy.hostName(ofAuthority: host.lowercased()) else { return false }
        return OriginPolicy.isLoopback(name) || publicHosts.contains(name) || (!publicHosts.isEmpty && Self.isIPLiteral(name))
    }

    /// `10.0.0.5` or `[fe80::1]`: a client that names the server by its address is not being rebound.
    private static func isIPLiteral(_ name: String) -> Bool {
        if name.hasPrefix("[") { return name.hasSuffix("]") }
        let parts = name.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts.allSatisfy { UInt8($0) != nil }
    }
}
