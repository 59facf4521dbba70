import Testing

@testable import ParleyServer

@Suite struct OriginPolicyTests {
    let policy = OriginPolicy(allowedOrigins: ["https://Chat.Example.com/"])

    @Test(
        arguments: [
            (nil, "chat.internal:8000"),
            ("http://chat.internal:8000", "chat.internal:8000"),
            ("https://chat.internal", "chat.internal:8000"),
            ("http://localhost:3000", "127.0.0.1:8000"),
            ("http://127.0.0.1:5173", "localhost:8000"),
            ("http://[::1]:3000", "127.0.0.1:8000"),
            ("https://chat.example.com", "10.0.0.5:8000"),
            ("http://[fe80::1]:3000", "[fe80::1]:8000"),
        ] as [(String?, String)]
    )
    func accepted(origin: String?, host: String) {
        #expect(policy.allows(origin: origin, host: host))
    }

    @Test(arguments: [
        ("https://evil.example", "chat.internal:8000"),
        ("null", "chat.internal:8000"),
        ("http://chat.internal.evil.example", "chat.internal:8000"),
        ("http://localhost:3000", "chat.internal:8000"),
        ("http://127.0.0.1.evil.example", "127.0.0.1:8000"),
        ("https://evil.example", "localhost:8000"),
        ("chat.internal", "chat.internal:8000"),
    ])
    func refused(origin: String, host: String) {
        #expect(!policy.allows(origin: origin, host: host))
    }

    @Test func withoutAHostOnlyListedOriginsPass() {
        #expect(!policy.allows(origin: "http://chat.internal", host: nil))
        #expect(policy.allows(origin: "https://chat.example.com", host: nil))
    }
}
