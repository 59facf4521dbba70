import Testing

@testable import ParleyServer

@Suite struct HostPolicyTests {
    @Test(arguments: ["127.0.0.1:8000", "localhost:8000", "LOCALHOST", "app.localhost:3000", "[::1]:8000", "127.1.2.3"])
    func aLoopbackBindAnswersLoopbackNames(host: String) {
        #expect(HostPolicy(bindHost: "127.0.0.1", publicHosts: []).allows(host: host))
        #expect(HostPolicy(bindHost: "::1", publicHosts: []).allows(host: host))
    }

    @Test(arguments: ["evil.example:8000", "evil.example", "127.0.0.1.evil.example", "10.0.0.5:8000", "", ":8000", "[::1"])
    func aLoopbackBindRefusesEveryOtherName(host: String) {
        #expect(!HostPolicy(bindHost: "localhost", publicHosts: []).allows(host: host))
    }

    @Test func publicHostsAreAnsweredAndNarrowAnOpenBind() {
        let loopback = HostPolicy(bindHost: "127.0.0.1", publicHosts: ["Chat.Example.com:443"])
        #expect(loopback.allows(host: "chat.example.com"))
        #expect(loopback.allows(host: "chat.example.com:8443"))
        #expect(!loopback.allows(host: "example.com"))
        let open = HostPolicy(bindHost: "0.0.0.0", publicHosts: ["chat.example.com"])
        #expect(open.allows(host: "chat.example.com") && open.allows(host: "10.0.0.5:8000") && open.allows(host: "[fe80::1]:8000"))
        #expect(!open.allows(host: "evil.example"))
    }

    @Test func anOpenBindWithoutPublicHostsAnswersAnyName() {
        #expect(HostPolicy(bindHost: "0.0.0.0", publicHosts: []).allows(host: "whatever.example:8000"))
        #expect(HostPolicy(bindHost: "::", publicHosts: []).allows(host: "whatever.example"))
    }
}
