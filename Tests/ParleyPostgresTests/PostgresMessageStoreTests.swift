import Logging
import ParleyCore
import ParleyTesting
import PostgresNIO
import Testing

@testable import ParleyPostgres

/// What only the PostgreSQL store does, on a real server (scripts/test.sh starts one and sets
/// `PARLEY_TEST_POSTGRES`), each test on a database of its own; two stores on one database stand for two nodes. What
/// every store does is in MessageStoreContractTests.
@Suite(.timeLimit(.minutes(1)), .postgresServerAtHand)
struct PostgresMessageStoreTests {
    private static let logger = Logger(label: "test")

    /// Runs `body` with `count` stores on a new database (writers running), then stops them and drops it.
    private static func withStores<Result>(
        _ count: Int = 1,
        _ body: ([PostgresMessageStore]) async throws -> Result
    ) async throws -> Result {
        try await TemporaryDatabases.withPostgresDatabase { location in
            var stores: [PostgresMessageStore] = []
            for _ in 0..<count {
                stores.append(try await PostgresMessageStore(location: location, logger: logger, now: { 1_700_000_000_000 }))
            }
            let writers = stores.map { store in Task { try await store.run() } }
            defer { for writer in writers { writer.cancel() } }
            let result = try await body(stores)
            for writer in writers { writer.cancel() }
            for writer in writers { try await writer.value }
            return result
        }
    }

    private func draft(_ room: String, _ id: String, sender: String = "Ana") -> MessageDraft {
        MessageDraft(room: room, senderID: "guest:" + sender, sender: sender, clientID: id, text: "text \(id)")
    }

    @Test func twoNodesWritingAtOnceGetGaplessOffsetsAndOneMessagePerID() async throws {
        try await Self.withStores(2) { stores in
            let outcomes = try await withThrowingTaskGroup(of: [AppendOutcome].self) { group in
                for writer in 0..<16 {
                    let store = stores[writer % 2]
                    group.addTask {
                        var all: [AppendOutcome] = []
                        for n in 0..<20 {
                            // Two rooms in either order, and every fifth id sent twice: locks and dedupe under load.
                            let rooms = writer % 2 == 0 ? ["x", "y"] : ["y", "x"]
                            all += try await store.append(rooms.map { draft($0, "\(writer)-\(n)", sender: "w\(writer % 4)") })
                            if n % 5 == 0 { all += try await store.append([draft("x", "\(writer)-\(n)", sender: "w\(writer % 4)")]) }
                        }
                        return all
                    }
                }
                return try await group.reduce(into: []) { $0 += $1 }
            }
            for room in ["x", "y"] {
                let new = outcomes.filter { $0.isNew && $0.message.room == room }.map(\.message.offset).sorted()
                #expect(new == Array(1...Int64(new.count)))
                #expect(new.count == 16 * 20)
                #expect(try await stores[1].head(of: room) == Int64(new.count))
            }
            #expect(outcomes.filter { !$0.isNew }.count == 16 * 4)
        }
    }

    /// With `synchronous_commit = off` PostgreSQL answers a commit before its log is on disk: Parley's `ack` would
    /// no longer mean the message survives a crash of the server, so the node says so when it starts.
    @Test func aDatabaseThatCanLoseCommitsIsNamedInAWarning() async throws {
        func warnings(for location: PostgresLocation) async throws -> [String] {
            let client = PostgresClient(configuration: location.clientConfiguration, backgroundLogger: Self.logger)
            let running = Task { await client.run() }
            defer { running.cancel() }
            return try await PostgresSchema.durabilityWarnings(client, logger: Self.logger)
        }
        try await TemporaryDatabases.withPostgresDatabase { location in
            #expect(try await warnings(for: location).isEmpty)
            // Applies to the sessions opened after it.
            try await TemporaryDatabases.execute("ALTER DATABASE \(location.database) SET synchronous_commit = off", on: location)
            let afterwards = try await warnings(for: location)
            #expect(afterwards.count == 1)
            #expect(afterwards.first?.contains("synchronous_commit is off") == true)
        }
    }

    @Test func aDatabaseThatCannotBeReachedIsNamedInTheError() async throws {
        let location = try PostgresLocation(url: "postgres://nobody:secret@127.0.0.1:1/none")
        await #expect {
            _ = try await PostgresMessageStore(location: location, logger: Self.logger)
        } throws: { error in
            "\(error)".contains("postgres://nobody@127.0.0.1:1/none") && !"\(error)".contains("secret")
        }
    }
}
