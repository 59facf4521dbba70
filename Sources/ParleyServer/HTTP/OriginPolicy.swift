import HTTPTypes

/// Decides whether a WebSocket upgrade's `Origin` may connect (cross-site WebSocket hijacking protection).
///
/// Accepted: no `Origin` (not a browser), an origin whose host name is the one the client connected to (any
/// port), and the origins listed explicitly. Loopback names (`localhost`, `127.x.x.x`, `[::1]`) count as one host
/// name, so a page from a development server on `http://localhost:3000` may use `ws://127.0.0.1:8000`, as the
/// tutorial's page does. Everything else is refused.
public struct OriginPolicy: Sendable {
    private let allowed: Set<String>

    /// Creates a policy accepting, besides same-host origins, exactly `allowedOrigins`.
    public init(allowedOrigins: [String]) {
        self.allowed = Set(allowedOrigins.map(Self.normalized))
    }

    /// Whether a request with these headers may open a WebSocket.
    public func allows(origin: String?, host: String?) -> Bool {
        guard let origin else { return true }
        let normalizedOrigin = Self.normalized(origin)
        if allowed.contains(normalizedOrigin) { return true }
        guard let originHost = Self.hostName(ofOrigin: normalizedOrigin), let host,
            let requestHost = Self.hostName(ofAuthority: host.lowercased())
        else { return false }
        return originHost == requestHost || (Self.isLoopback(originHost) && Self.isLoopback(requestHost))
    }

    static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host.hasSuffix(".localhost") || host == "[::1]"
            || host.hasPrefix("127.")
                && host.split(separator: ".").count == 4 && host.split(separator: ".").allSatisfy { UInt8($0) != nil }
    }

    private static func normalized(_ origin: String) -> String {
        var value = origin.trimmingSpaces().lowercased()
        while value.hasSuffix("/") { value.removeLast() }
        return value
    }

    /// `http://Example.com:3000` → `example.com`; `null` and other opaque origins → `nil`.
    static func hostName(ofOrigin origin: String) -> String? {
        let parts = origin.split(separator: "://", maxSplits: 1)
        guard parts.count == 2 else { return nil }
        return hostName(ofAuthority: String(parts[1]))
    }

    /// `example.com:8000` → `example.com`; `[::1]:8000` → `[::1]`.
    static func hostName(ofAuthority authority: String) -> String? {
        let withoutPath = authority.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
        if withoutPath.hasPrefix("[") {
            guard let close = withoutPath.firstIndex(of: "]") else { return nil }
            return String(withoutPath[...close])
        }
        let host = withoutPath.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
        return host.isEmpty ? nil : host
    }
}

extension String {
    fileprivate func trimmingSpaces() -> String {
        String(self.drop(while: { $0 == " " }).reversed().drop(while: { $0 == " " }).reversed())
    }
}
