import ParleyCore
import ParleyProtocol
import Testing

@testable import ParleyPostgres

@Suite struct ClusterNotificationTests {
    private func message(_ offset: Int64, text: String) -> StoredMessage {
        StoredMessage(
            room: "r",
            offset: offset,
            clientID: "id\(offset)",
            senderID: "guest:Ana",
            sender: "Ana",
            text: text,
            storedAt: 1_700_000_000_000
        )
    }

    @Test func smallMessagesShareAPayloadAndComeBackWhole() throws {
        let messages = (1...5).map { message($0, text: "olá \($0)") }
        let payloads = ClusterNotification.payloads(for: messages)
        #expect(payloads.count == 1)
        #expect(ClusterNotification(payload: payloads[0]) == .messages(messages.map { ClusterNotification.MessageNote($0) }))
        guard case .messages(let notes)? = ClusterNotification(payload: payloads[0]) else {
            Issue.record("not messages")
            return
        }
        #expect(notes.compactMap(\.message) == messages)
    }

    @Test func payloadsStayUnderNotifysLimitAndKeepOffsetOrder() throws {
        let messages = (1...40).map { message($0, text: String(repeating: "é", count: 900)) }
        let payloads = ClusterNotification.payloads(for: messages)
        #expect(payloads.count > 1)
        #expect(payloads.allSatisfy { $0.utf8.count <= ClusterNotification.maxPayloadBytes })
        let offsets = payloads.flatMap { payload -> [Int64] in
            guard case .messages(let notes)? = ClusterNotification(payload: payload) else { return [] }
            return notes.map(\.offset)
        }
        #expect(offsets == Array(1...40))
    }

    @Test func aMessageTooLargeForNotifyTravelsByReference() throws {
        let big = message(7, text: String(repeating: "x", count: 16_384))
        let payloads = ClusterNotification.payloads(for: [message(6, text: "small"), big])
        #expect(payloads.allSatisfy { $0.utf8.count <= ClusterNotification.maxPayloadBytes })
        let notes = payloads.flatMap { payload -> [ClusterNotification.MessageNote] in
            guard case .messages(let notes)? = ClusterNotification(payload: payload) else { return [] }
            return notes
        }
        #expect(notes.map(\.offset) == [6, 7])
        #expect(notes[0].message != nil)
        #expect(notes[1].message == nil)
        #expect(notes[1].room == "r")
    }

    @Test func presenceTypingAndNodeEventsRoundTrip() {
        for notification in [
            ClusterNotification.presence(node: "n1", room: "r", user: UserRef(id: "ana", name: "Ana \"A\""), present: true),
            .presence(node: "n1", room: "r", user: .guest(named: "Ana"), present: false),
            .typing(node: "n2", room: "r", user: UserRef(id: "bea@example.com", name: "Bea")),
            .nodeGone(node: "n3"),
            .plainClientLeft(node: "n4"),
        ] {
            #expect(ClusterNotification(payload: notification.payload) == notification)
        }
        #expect(ClusterNotification(payload: #"{"k":"g","n":"from-sql"}"#) == .nodeGone(node: "from-sql"))
        #expect(ClusterNotification(payload: "not json") == nil)
        #expect(ClusterNotification(payload: #"{"k":"zz"}"#) == nil)
    }
}

@Suite struct PostgresLocationTests {
    @Test func aFullURLIsParsedAndShownWithoutItsPassword() throws {
        let location = try PostgresLocation(url: "postgres://chat:s%40cret@db.example:6543/parley?sslmode=require", environment: [:])
        #expect(location.host == "db.example")
        #expect(location.port == 6543)
        #expect(location.username == "chat")
        #expect(location.password == "s@cret")
        #expect(location.database == "parley")
        #expect(location.requiresTLS)
        #expect(location.description == "postgres://chat@db.example:6543/parley?sslmode=require")
    }

    @Test func thePasswordFallsBackToPGPASSWORDAndThePortTo5432() throws {
        let location = try PostgresLocation(url: "postgresql://chat@localhost/parley", environment: ["PGPASSWORD": "env"])
        #expect(location.password == "env")
        #expect(location.port == 5432)
        #expect(!location.requiresTLS)
    }

    @Test(arguments: [
        ("postgres://localhost/parley", "no user"),
        ("postgres://chat@/parley", "no host"),
        ("postgres://chat@localhost", "no database"),
        ("postgres://chat@localhost/parley?sslmode=maybe", "sslmode=maybe"),
        ("postgres://chat@localhost/parley?pool=9", "unknown parameter pool"),
    ])
    func badURLsSayWhatIsWrong(url: String, problem: String) {
        #expect {
            try PostgresLocation(url: url, environment: [:])
        } throws: { error in
            "\(error)".contains(problem)
        }
    }
}
