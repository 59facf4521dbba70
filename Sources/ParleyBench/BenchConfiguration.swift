/// What `parley bench` runs: N WebSocket clients in R rooms, S of them sending.
public struct BenchConfiguration: Sendable {
    /// How the clients talk to the server.
    public enum Dialect: Sendable, Equatable {
        /// parley.v1: `hello`, `join`, `send` with ids; acks; offsets checked per room.
        case parley
        /// Plain text to a broadcast server (Parley's plain mode, the tutorial's server, Node `ws`, the
        /// libwebsockets mirror): every client gets every text; loss is checked against each sender's sequence
        /// numbers; a closed-loop sender waits for its own text to come back. `subprotocol` is offered if set.
        case plain(subprotocol: String?)
    }

    /// How the clients talk to the server.
    public var dialect: Dialect
    /// The server's process id on this machine, to report its CPU time per delivery over the measured window
    /// (Linux: read from `/proc/PID/stat`).
    public var serverProcessID: Int32?
    /// The server's WebSocket endpoint.
    public var url: String
    /// Connections to open.
    public var clients: Int
    /// Rooms the clients are spread over (client i joins room i mod rooms).
    public var rooms: Int
    /// Clients that send (spread over the rooms like the others).
    public var senders: Int
    /// Messages per second, all senders together; 0 sends as fast as acks allow (closed loop, one in flight each).
    public var rate: Double
    /// Bytes of text per message.
    public var messageBytes: Int
    /// How long to measure.
    public var duration: Duration
    /// How long to send before measuring.
    public var warmup: Duration
    /// How many connections may be connecting at once.
    public var connectConcurrency: Int

    /// Creates a configuration; the defaults are a small, quick run.
    public init(
        url: String = "ws://127.0.0.1:8000/ws",
        clients: Int = 100,
        rooms: Int = 1,
        senders: Int = 10,
        rate: Double = 100,
        messageBytes: Int = 100,
        duration: Duration = .seconds(10),
        warmup: Duration = .seconds(2),
        connectConcurrency: Int = 50,
        dialect: Dialect = .parley,
        serverProcessID: Int32? = nil
    ) {
        self.dialect = dialect
        self.serverProcessID = serverProcessID
        self.url = url
        self.clients = clients
        self.rooms = rooms
        self.senders = senders
        self.rate = rate
        self.messageBytes = messageBytes
        self.duration = duration
        self.warmup = warmup
        self.connectConcurrency = connectConcurrency
    }
}
