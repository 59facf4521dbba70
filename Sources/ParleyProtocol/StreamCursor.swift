/// Where an event stream stands in each of its rooms: the `id:` of its Server-Sent Events, which a reconnecting
/// browser sends back as `Last-Event-ID`, so that every room resumes exactly after what was delivered, on any node.
///
/// Written `room:offset` pairs joined by commas (`lobby:41,general:7`): room names hold neither character. Clients
/// treat it as opaque.
public struct StreamCursor: Sendable, Equatable, CustomStringConvertible {
    /// The last offset delivered in each room, in the order the rooms were named.
    public private(set) var positions: [(room: String, offset: Int64)]

    /// A cursor at `positions`.
    public init(_ positions: [(room: String, offset: Int64)] = []) {
        self.positions = positions
    }

    /// Reads a cursor; `nil` for text that is not one (a room name the protocol refuses, an offset that is not a
    /// whole number).
    public init?(_ text: String) {
        positions = []
        guard !text.isEmpty else { return }
        for pair in text.split(separator: ",", omittingEmptySubsequences: false) {
            let parts = pair.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count == 2, Names.isValidRoom(String(parts[0])), let offset = Int64(parts[1]), offset >= 0 else {
                return nil
            }
            positions.append((String(parts[0]), offset))
        }
    }

    /// The last offset delivered in `room`, if the cursor has the room.
    public subscript(room: String) -> Int64? {
        positions.first { $0.room == room }?.offset
    }

    /// Records that `offset` was delivered in `room` (a lower offset changes nothing).
    public mutating func advance(_ room: String, to offset: Int64) {
        if let index = positions.firstIndex(where: { $0.room == room }) {
            positions[index].offset = max(positions[index].offset, offset)
        } else {
            positions.append((room, offset))
        }
    }

    public var description: String {
        positions.map { "\($0.room):\($0.offset)" }.joined(separator: ",")
    }

    public static func == (lhs: StreamCursor, rhs: StreamCursor) -> Bool {
        lhs.positions.elementsEqual(rhs.positions) { $0.room == $1.room && $0.offset == $1.offset }
    }
}
