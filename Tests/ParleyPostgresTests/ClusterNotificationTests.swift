import ParleyCore
import ParleyProtocol
import Testing

@testable import ParleyPostgres

@Suite struct ClusterNotificationTests {
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

@Suite struct PostgresServerVersionTests {
    @Test func aServerOlderThan14IsRefusedWithItsVersionAndWhatIsNeeded() throws {
        #expect {
            try PostgresSchema.checkServerVersion(130_004)
        } throws: { error in
            "\(error)" == "PostgreSQL 13.4 is too old: Parley needs PostgreSQL 14 or newer"
        }
        try PostgresSchema.checkServerVersion(140_000)
        try PostgresSchema.checkServerVersion(150_018)
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
