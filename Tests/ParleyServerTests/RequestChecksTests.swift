import Foundation
import Hummingbird
import NIOHTTP1
import ParleyCore
import Testing

@testable import ParleyServer

/// What a request must be to be served, checked without a server.
@Suite struct RequestChecksTests {
    private func upgrade(method: HTTPMethod = .GET, version: HTTPVersion = .http1_1, headers: [(String, String)]) -> HTTPRequestHead {
        HTTPRequestHead(version: version, method: method, uri: "/ws", headers: HTTPHeaders(headers))
    }

    private let valid = [
        ("Host", "127.0.0.1:8000"), ("Upgrade", "websocket"), ("Connection", "Upgrade"),
        ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="), ("Sec-WebSocket-Version", "13"),
    ]

    @Test func aWellFormedHandshakeIsValid() {
        #expect(ChatUpgrader.isValidHandshake(upgrade(headers: valid)))
    }

    @Test func handshakesBreakingRFC6455AreNot() {
        #expect(!ChatUpgrader.isValidHandshake(upgrade(method: .POST, headers: valid)))
        #expect(!ChatUpgrader.isValidHandshake(upgrade(version: .http1_0, headers: valid)))
        #expect(!ChatUpgrader.isValidHandshake(upgrade(headers: valid.filter { $0.0 != "Host" })))
        #expect(!ChatUpgrader.isValidHandshake(upgrade(headers: valid + [("Host", "other")])))
        for key in ["", "c2hvcnQ=", "not base64!", "dGhlIHNhbXBsZSBub25jZQ==dGhl", String(repeating: "A", count: 4000)] {
            let headers = valid.map { $0.0 == "Sec-WebSocket-Key" ? ($0.0, key) : $0 }
            #expect(!ChatUpgrader.isValidHandshake(upgrade(headers: headers)), "\(key.prefix(20))")
        }
        #expect(!ChatUpgrader.isValidHandshake(upgrade(headers: valid + [("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")])))
        #expect(!ChatUpgrader.isValidHandshake(upgrade(headers: valid.map { $0.0 == "Sec-WebSocket-Version" ? ($0.0, "8") : $0 })))
    }

    @Test func clientValuesInLogsAreEscapedAndTruncated() {
        #expect(LogThrottle.clientValue("https://chat.example.com") == "https://chat.example.com")
        #expect(LogThrottle.clientValue("a\u{202E}b\n\\") == "a\\u{202e}b\\u{a}\\u{5c}")
        let long = LogThrottle.clientValue(String(repeating: "x", count: 20_000))
        #expect(long.count < 140 && long.hasSuffix("… (20000 bytes)"))
    }

    @Test func theWebRootServesOnlyRegularFilesInsideIt() throws {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("parley-webroot-\(UUID().uuidString)")
        let root = base.appendingPathComponent("site")
        try FileManager.default.createDirectory(at: root.appendingPathComponent("docs"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: base) }
        try Data("<p>hi</p>".utf8).write(to: root.appendingPathComponent("index.html"))
        try Data("guide".utf8).write(to: root.appendingPathComponent("docs/index.html"))
        try Data("secret".utf8).write(to: base.appendingPathComponent("secret.txt"))
        try FileManager.default.createSymbolicLink(
            at: root.appendingPathComponent("link.txt"),
            withDestinationURL: base.appendingPathComponent("secret.txt")
        )
        let middleware = WebRootMiddleware<ParleyRequestContext>(folder: root.path)
        #expect(middleware.file(for: "/")?.lastPathComponent == "index.html")
        #expect(middleware.file(for: "/docs")?.path.hasSuffix("docs/index.html") == true)
        #expect(middleware.file(for: "/docs/index.html") != nil)
        for path in ["/link.txt", "/../secret.txt", "/%2e%2e/secret.txt", "/index.html%00.txt", "/docs%5cindex.html", "/missing"] {
            #expect(middleware.file(for: path) == nil, "\(path)")
        }
    }
}
