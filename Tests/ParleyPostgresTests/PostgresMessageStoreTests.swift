import Foundation
import Logging
import ParleyCore
@testable import ParleyPostgres
import PostgresNIO
import Testing

/// The PostgreSQL server the tests create their databases on.
private let testDatabaseServer = ProcessInfo.processInfo.environment["PARLEY_TEST_POSTGRES"]

/// The PostgreSQL store on a real server (scripts/test.sh starts one and sets `PARLEY_TEST_POSTGRES`), each test
/// on a database of its own; two stores on one database stand for two nodes.
@Suite(
    .timeLimit(.minutes(1)),
    .enabled(if: testDatabaseServer != nil, "PARLEY_TEST_POSTGRES is not set; scripts/test.sh sets it")
)
struct PostgresMessageStoreTests {
    static let adminURL = testDatabaseServer
    private static let logger = Logger(label: "test")

    /// Creates a database, runs `body` with `count` stores on it (writers running), then stops them and drops it.
    private static func withStores<Result>(
        _ count: Int = 1,
        _ body: ([PostgresMessageStore]) async throws -> Result
    ) async throws -> Result {
        let admin = try PostgresLocation(url: adminURL!)
        let name = "parley_swift_\(UUID().uuidString.prefix(8).lowercased())"
        try await administer(admin, "CREATE DATABASE \(name)")
        var location = admin
        location.database = name
        var stores: [PostgresMessageStore] = []
        for _ in 0..<count {
            stores.append(try await PostgresMessageStore(location: location, logger: logger, now: { 1_700_000_000_000 }))
        }
        let writers = stores.map { store in Task { try await store.run() } }
        do {
            let result = try await body(stores)
            for writer in writers { writer.cancel() }
            for writer in writers { try await writer.value }
            try await administer(admin, "DROP DATABASE \(name) WITH (FORCE)")
            return result
        } catch {
            for writer in writers { writer.cancel() }
            try? await administer(admin, "DROP DATABASE \(name) WITH (FORCE)")
            throw error
        }
    }

    private static func administer(_ admin: PostgresLocation, _ sql: String) async throws {
        let connection = try await PostgresConnection.connect(configuration: try admin.connectionConfiguration(), id: 1, logger: logger)
        _ = try await connection.query(PostgresQuery(unsafeSQL: sql), logger: logger).collect()
        try await connection.close()
    }

    private func draft(_ room: String, _ id: String, sender: String = "Ana") -> MessageDraft {
        MessageDraft(room: room, senderID: "guest:" + sender, sender: sender, clientID: id, text: "text \(id)")
    }

    @Test func offsetsArePerRoomFromOneAndResendsAreDeduplicated() async throws {
        try await Self.withStores { stores in
            let store = stores[0]
            let outcomes = try await store.append([draft("a", "1"), draft("b", "1"), draft("a", "2"), draft("a", "1")])
            #expect(outcomes.map(\.message.offset) == [1, 1, 2, 1])
            #expect(outcomes.map(\.isNew) == [true, true, true, false])
            let again = try await store.append([draft("a", "2"), draft("a", "2", sender: "Bea")])
            #expect(again.map(\.message.offset) == [2, 3])
            #expect(again.map(\.isNew) == [false, true])
            #expect(try await store.head(of: "a") == 3)
            #expect(try await store.head(of: "empty") == 0)
        }
    }

    @Test func historyPagesBothWays() async throws {
        try await Self.withStores { stores in
            let store = stores[0]
            _ = try await store.append((1...10).map { draft("h", "\($0)") })
            #expect(try await store.messages(in: "h", after: 7, limit: 50).map(\.offset) == [8, 9, 10])
            #expect(try await store.messages(in: "h", after: 0, limit: 2).map(\.offset) == [1, 2])
            #expect(try await store.messages(in: "h", before: nil, limit: 3).map(\.offset) == [8, 9, 10])
            #expect(try await store.messages(in: "h", before: 4, limit: 50).map(\.offset) == [1, 2, 3])
            let first = try await store.messages(in: "h", after: 0, limit: 1)[0]
            #expect(first == StoredMessage(room: "h", offset: 1, clientID: "1", senderID: "guest:Ana", sender: "Ana", text: "text 1", storedAt: 1_700_000_000_000))
        }
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

    @Test func aDatabaseThatCannotBeReachedIsNamedInTheError() async throws {
        let location = try PostgresLocation(url: "postgres://nobody:secret@127.0.0.1:1/none")
        await #expect {
            _ = try await PostgresMessageStore(location: location, logger: Self.logger)
        } throws: { error in
            "\(error)".contains("postgres://nobody@127.0.0.1:1/none") && !"\(error)".contains("secret")
        }
    }
}
