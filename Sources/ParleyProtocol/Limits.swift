/// The limits a server enforces; sent to each client in `welcome`.
public struct Limits: Codable, Sendable, Equatable {
    /// Largest `send.text`, in UTF-8 bytes; over it the command gets `too_large`.
    public var maxTextBytes: Int
    /// Largest inbound frame or message, in bytes; over it the connection closes with 1009.
    public var maxFrameBytes: Int
    /// Commands per second a connection may send on average; 0 turns rate limiting off.
    public var commandsPerSecond: Double
    /// Commands a connection may send in one burst.
    public var commandBurst: Int
    /// Bytes a connection's outbox holds before the connection is closed with 4008.
    public var outboxBytes: Int
    /// Frames a connection's outbox holds before the connection is closed with 4008.
    public var outboxFrames: Int
    /// Largest `history.limit`; larger values are clamped to it.
    public var maxHistoryPage: Int
    /// Messages replayed on `join` without `since`.
    public var joinReplayCount: Int
    /// Rooms one connection may be joined to at once; a `join` beyond it gets `bad_request`.
    public var maxJoinedRooms: Int
    /// Rooms with more users than this are large: `joined` lists a page of them with `memberCount`, presence is a
    /// count at most once a second, and typing reaches only the recently active.
    public var presenceListLimit: Int

    /// Creates limits; the defaults are parley.v1's.
    public init(
        maxTextBytes: Int = 16 * 1024,
        maxFrameBytes: Int = 64 * 1024,
        commandsPerSecond: Double = 10,
        commandBurst: Int = 100,
        outboxBytes: Int = 1024 * 1024,
        outboxFrames: Int = 1000,
        maxHistoryPage: Int = 200,
        joinReplayCount: Int = 50,
        maxJoinedRooms: Int = 256,
        presenceListLimit: Int = 100
    ) {
        self.maxTextBytes = maxTextBytes
        self.maxFrameBytes = maxFrameBytes
        self.commandsPerSecond = commandsPerSecond
        self.commandBurst = commandBurst
        self.outboxBytes = outboxBytes
        self.outboxFrames = outboxFrames
        self.maxHistoryPage = maxHistoryPage
        self.joinReplayCount = joinReplayCount
        self.maxJoinedRooms = maxJoinedRooms
        self.presenceListLimit = presenceListLimit
    }
}
