import ParleyCore
import ParleySQLite
import Testing

/// The writer's cache of room heads: what it answers must always be the committed head.
@Suite struct CommittedHeadsTests {
    /// Stands for the database: the committed head of each room, and how often it was asked.
    final class Database {
        var heads: [String: Int64] = [:]
        var lookUps = 0

        func head(of room: String) -> Int64 {
            lookUps += 1
            return heads[room] ?? 0
        }

        /// Commits entries and tells the cache, as the writer does.
        func commit(_ entries: [(String, Int64)], to cache: CommittedHeads) {
            for (room, offset) in entries { heads[room] = offset }
            cache.committed(
                entries.map {
                    StoredMessage(room: $0.0, offset: $0.1, clientID: "c\($0.1)", senderID: "guest:a", sender: "a", text: "t", storedAt: 0)
                }
            )
        }
    }

    @Test func aRoomIsLookedUpOnceAndThenFollowsItsCommits() {
        let database = Database()
        database.heads["a"] = 7
        let cache = CommittedHeads()
        #expect(cache.head(of: "a") { database.head(of: "a") } == 7)
        database.commit([("a", 8), ("a", 9), ("b", 1)], to: cache)
        #expect(cache.head(of: "a") { database.head(of: "a") } == 9)
        #expect(cache.head(of: "b") { database.head(of: "b") } == 1)
        #expect(database.lookUps == 1)
    }

    @Test func afterAFailedCommitEveryHeadIsLookedUpAgain() {
        let database = Database()
        let cache = CommittedHeads()
        database.commit([("a", 1)], to: cache)
        cache.forget()
        database.heads["a"] = 3
        #expect(cache.head(of: "a") { database.head(of: "a") } == 3)
        #expect(database.lookUps == 1)
    }

    @Test func aFullCacheStartsOverAndStillAnswersTheCommittedHead() {
        let database = Database()
        let cache = CommittedHeads(capacity: 2)
        for round: Int64 in 1...3 {
            database.commit([("a", round), ("b", round), ("c", round)], to: cache)
            for room in ["a", "b", "c", "d"] {
                #expect(cache.head(of: room) { database.head(of: room) } == database.heads[room, default: 0], "\(room) after round \(round)")
            }
        }
    }
}
