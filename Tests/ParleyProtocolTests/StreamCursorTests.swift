import ParleyProtocol
import Testing

/// The cursor of an event stream: written and read back exactly, refused when it is not one.
@Suite struct StreamCursorTests {
    @Test func aCursorRoundTripsAndAdvancesEachRoomForwardOnly() throws {
        var cursor = StreamCursor([("lobby", 41), ("general", 0)])
        #expect(cursor.description == "lobby:41,general:0")
        cursor.advance("general", to: 3)
        cursor.advance("lobby", to: 40)
        cursor.advance("new-room", to: 1)
        #expect(cursor.description == "lobby:41,general:3,new-room:1")
        #expect(StreamCursor(cursor.description) == cursor)
        #expect(cursor["general"] == 3)
        #expect(cursor["elsewhere"] == nil)
    }

    @Test(arguments: ["lobby", "lobby:", ":3", "lobby:-1", "lobby:x", "bad room:1", "lobby:1,", "lobby:1:2", "a:1;b:2"])
    func textThatIsNotACursorIsRefused(text: String) {
        #expect(StreamCursor(text) == nil)
    }

    @Test func anEmptyCursorHasNoRooms() throws {
        #expect(try #require(StreamCursor("")).positions.isEmpty)
    }
}
