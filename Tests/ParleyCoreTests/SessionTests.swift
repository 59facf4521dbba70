import NIOCore
import ParleyCore
import ParleyProtocol
import ServiceLifecycle
import Testing

/// Sessions driven without sockets: frames in, outbox frames out.
@Suite(.timeLimit(.minutes(1))) struct SessionTests {
    private struct Harness {
        let hub: Hub
        let session: Session
        let log = CapturedLog()

        init(store: (any MessageStore)? = nil, limits: Limits = Limits()) {
            let hub = Hub(limits: limits)
            let store = store ?? InMemoryMessageStore(onCommit: { hub.deliver($0) })
            self.hub = hub
            session = Session(
                connection: hub.connect(mode: .parley)!,
                environment: Session.Environment(hub: hub, store: store, limits: limits, logger: log.logger)
            )
        }

        func send(_ command: ClientCommand, ref: Ref? = nil) async {
            await session.receive(text: ClientFrame(ref: ref, command: command).jsonText())
        }

        func events(_ count: Int) async -> [ServerEvent] {
            var result: [ServerEvent] = []
            while result.count < count {
                guard case .frames(let frames) = await session.connection.outbox.next() else { break }
                result += frames.compactMap { try? ServerEvent.decode(Frame.payload(of: $0.bytes)) }
            }
            return result
        }
    }

    @Test func helloComesFirstAndOnlyOnce() async {
        let harness = Harness()
        await harness.send(.ping, ref: "1")
        await harness.send(.hello(name: "Ana", token: nil), ref: "2")
        await harness.send(.hello(name: "Ana", token: nil), ref: "3")
        let events = await harness.events(3)
        #expect(events[0] == .error(ref: "1", code: .helloRequired, message: "send hello first"))
        #expect(events[1] == .welcome(ref: "2", session: harness.session.sessionID, user: .guest(named: "Ana"), limits: Limits(), expiresAt: nil))
        #expect(events[2] == .error(ref: "3", code: .badRequest, message: "hello was already sent on this connection"))
    }

    @Test func aGuestNeedsANameAndMayTryAgain() async {
        let harness = Harness()
        await harness.send(.hello(name: nil, token: nil), ref: "1")
        await harness.send(.hello(name: "Ana", token: nil), ref: "2")
        let events = await harness.events(2)
        #expect(events[0] == .error(ref: "1", code: .badRequest, message: "field \"name\" is required without a token"))
        #expect(events[1].type == "welcome")
    }

    @Test func sendIsAcknowledgedWithTheStoresOffsetAndEchoedToTheSender() async {
        let harness = Harness()
        await harness.send(.hello(name: "Ana", token: nil))
        await harness.send(.join(room: "r", since: nil), ref: "j")
        await harness.send(.send(room: "r", text: "oi", id: "c1"), ref: "s")
        let events = await harness.events(4)
        #expect(events[1] == .joined(ref: "j", room: "r", head: 0, members: ["Ana"], users: ["Ana"].map(UserRef.guest(named:)), about: .publicRoom))
        let rest = Set(events[2...].map { $0.type })
        #expect(rest == ["ack", "message"])
    }

    @Test func aStoreFailureAnswersInternalAndTheSessionCarriesOn() async {
        let harness = Harness(store: FailingStore())
        await harness.send(.hello(name: "Ana", token: nil))
        await harness.send(.join(room: "r", since: nil), ref: "j")
        await harness.send(.history(room: "r", before: nil, limit: nil), ref: "h")
        await harness.send(.ping, ref: "p")
        let events = await harness.events(4)
        #expect(events[1] == .error(ref: "j", code: .internal, message: "the server could not complete the command; try again"))
        #expect(events[2] == .error(ref: "h", code: .internal, message: "the server could not complete the command; try again"))
        #expect(events[3] == .pong(ref: "p"))
        #expect(!harness.hub.isMember("r", connection: harness.session.connection))
        // The operator learns what the client was not told: which command failed, and the store's error.
        let lines = harness.log.all.filter { $0.hasPrefix("error answered internal") }
        #expect(lines.count == 2)
        #expect(lines.first?.contains("a join command failed") == true && lines.first?.contains("error=") == true)
    }

    @Test func historyPagesAreTrimmedToTheByteBudgetKeepingTheNewest() async {
        let harness = Harness(limits: Limits(maxTextBytes: 300_000, commandsPerSecond: 0))
        await harness.send(.hello(name: "Ana", token: nil))
        await harness.send(.join(room: "r", since: nil))
        for index in 1...3 {
            await harness.send(.send(room: "r", text: String(repeating: "\(index)", count: 200_000), id: "\(index)"))
        }
        _ = await harness.events(2 + 6)
        await harness.send(.history(room: "r", before: nil, limit: 3), ref: "h")
        guard case .history(_, _, let page) = await harness.events(1).first else {
            Issue.record("expected history")
            return
        }
        #expect(page.map(\.offset) == [2, 3])
    }
}

/// A store whose every operation fails, as an unreachable database would.
private struct FailingStore: MessageStore {
    struct Unreachable: Error {}
    func run() async throws { try await gracefulShutdown() }
    func append(_ drafts: [MessageDraft], then answer: @escaping AppendAnswer) { answer(.failure(Unreachable())) }
    func messages(in room: String, after offset: Int64, limit: Int) async throws -> [StoredMessage] { throw Unreachable() }
    func messages(in room: String, before offset: Int64?, limit: Int) async throws -> [StoredMessage] { throw Unreachable() }
    func head(of room: String) async throws -> Int64 { throw Unreachable() }
    func checkReachable() async throws { throw Unreachable() }
}
