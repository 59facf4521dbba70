import NIOPosix
import Synchronization
import Testing

@testable import ParleyIdentity

@Suite struct IdentityRulesTests {
    @Test func loginNamesAreLowerCasedAndLimitedToTheirAlphabet() {
        #expect(AccountNames.login("Ana") == "ana")
        #expect(AccountNames.login("a.b-c_9") == "a.b-c_9")
        for invalid in ["", "ana lúcia", "ana@x", String(repeating: "a", count: 33), "ａｎａ", "İ"] {
            #expect(AccountNames.login(invalid) == nil, "\(invalid)")
        }
    }

    @Test func namesFoldByCompatibilityAndCase() {
        #expect(AccountNames.folded("ＡＮＡ") == AccountNames.folded("ana"))
        #expect(AccountNames.folded("Straße") == "strasse")
        #expect(AccountNames.folded("Zoë") == AccountNames.folded("ZOE\u{308}"))
        #expect(AccountNames.folded("ﬁle") == "file")
    }

    @Test func asciiNamesFoldAsTheUnicodeRulesWould() {
        let ascii = String(decoding: (0..<0x80).map { UInt8($0) }, as: UTF8.self)
        for name in [ascii, "Ana Maria", "BOB_42", "guest:Zed", "\t A\u{7F}"] {
            #expect(AccountNames.folded(name) == AccountNames.foldedByUnicodeRules(name), "\(name)")
        }
    }

    @Test func sessionTokensAreLongRandomAndStoredOnlyAsTheirHash() {
        let (token, hash) = SessionTokens.make()
        let (other, _) = SessionTokens.make()
        #expect(token != other && token.hasPrefix("pst_") && token.count == 47)
        #expect(!token.contains("+") && !token.contains("/") && !token.contains("="))
        #expect(hash == SessionTokens.hash(token) && hash.count == 64 && !hash.contains(String(token.dropFirst(4))))
        #expect(SessionTokens.isSessionToken(token) && !SessionTokens.isSessionToken("eyJhbGciOiJIUzI1NiJ9.e30.x"))
    }

    @Test func passwordsAreHashedWithBcryptAndEveryCharacterCounts() async throws {
        let threads = NIOThreadPool(numberOfThreads: 1)
        threads.start()
        let passwords = Passwords(cost: 4, threads: threads)
        let long = String(repeating: "p", count: 100)
        let hash = try await passwords.hash(long + "1")
        #expect(hash.hasPrefix("$2b$04$"))
        #expect(try await passwords.verify(long + "1", against: hash))
        // bcrypt alone reads 72 bytes: these two would be the same password.
        #expect(try await !passwords.verify(long + "2", against: hash))
        #expect(try await !passwords.verify(long + "1", against: nil))
        #expect(Passwords.problem(with: "short") != nil && Passwords.problem(with: "long enough") == nil)
        try await threads.shutdownGracefully()
    }

    @Test func loginFailuresAreThrottledPerNameAndPerAddressForAMinute() {
        let time = Mutex(ContinuousClock.now)
        let throttle = LoginThrottle(now: { time.withLock { $0 } })
        for _ in 0..<5 { throttle.recordFailure(name: "ana", address: "10.0.0.1") }
        #expect(throttle.retryAfter(name: "ana", address: "10.0.0.2") != nil)
        #expect(throttle.retryAfter(name: "bea", address: "10.0.0.1") == nil)
        for index in 0..<15 { throttle.recordFailure(name: "guess\(index)", address: "10.0.0.1") }
        #expect(throttle.retryAfter(name: "bea", address: "10.0.0.1") != nil)
        time.withLock { $0 = $0.advanced(by: .seconds(30)) }
        let wait = throttle.retryAfter(name: "ana", address: "10.0.0.9")
        #expect(wait != nil && wait! <= .seconds(30))
        time.withLock { $0 = $0.advanced(by: .seconds(31)) }
        #expect(throttle.retryAfter(name: "ana", address: "10.0.0.1") == nil)
    }
}
