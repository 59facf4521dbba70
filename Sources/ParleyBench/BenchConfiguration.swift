/// What `parley bench` runs: N WebSocket clients in R rooms, S of them sending.
package struct BenchConfiguration: Sendable {
    /// How the clients talk to the server.
    package enum Dialect: Sendable, Equatable {
        /// parley.v1: `hello`, `join`, `send` with ids; acks; offsets checked per room.
        case parley
        /// Plain text to a broadcast server (Parley's plain mode, the tutorial's server, Node `ws`, the
        /// libwebsockets mirror): every client gets every text; loss is checked against each sender's sequence
        /// numbers; a closed-loop sender waits for its own text to come back. `subprotocol` is offered if set.
        case plain(subprotocol: String?)
    }

    /// How the clients talk to the server.
    package var dialect: Dialect
    /// The server's process id on this machine, to report its CPU time per delivery over the measured window
    /// (Linux: read from `/proc/PID/stat`).
    package var serverProcessID: Int32?
    /// The server's WebSocket endpoint.
    package var url: String
    /// Where the clients that do not send connect instead, if set: another node of a cluster, so that every message
    /// they read crossed the cluster.
    package var readerURL: String?
    /// Connections to open.
    package var clients: Int
    /// Rooms the clients are spread over (client i joins room i mod rooms).
    package var rooms: Int
    /// Clients that send (spread over the rooms like the others).
    package var senders: Int
    /// Messages per second, all senders together; 0 sends as fast as acks allow (closed loop, one in flight each).
    package var rate: Double
    /// Bytes of text per message.
    package var messageBytes: Int
    /// How long to measure.
    package var duration: Duration
    /// How long to send before measuring.
    package var warmup: Duration
    /// How many connections may be connecting at once.
    package var connectConcurrency: Int
    /// Clients that join per second during the measured window, beyond `clients` (a room filling while it talks).
    package var joinRate: Double
    /// Whether the clients that do not send follow their room over Server-Sent Events (`/api/v1/events`, as
    /// guests) instead of a WebSocket; parley.v1 only.
    package var eventStreams: Bool

    /// Creates a configuration; the defaults are a small, quick run.
    package init(
        url: String = "ws://127.0.0.1:8000/ws",
        readerURL: String? = nil,
        clients: Int = 100,
        rooms: Int = 1,
        senders: Int = 10,
        rate: Double = 100,
        messageBytes: Int = 100,
        duration: Duration = .seconds(10),
        warmup: Duration = .seconds(2),
        connectConcurrency: Int = 50,
        dialect: Dialect = .parley,
        serverProcessID: Int32? = nil,
        joinRate: Double = 0,
        eventStreams: Bool = false
    ) {
        self.dialect = dialect
        self.serverProcessID = serverProcessID
        self.url = url
        self.readerURL = readerURL
        self.clients = clients
        self.rooms = rooms
        self.senders = senders
        self.rate = rate
        self.messageBytes = messageBytes
        self.duration = duration
        self.warmup = warmup
        self.connectConcurrency = connectConcurrency
        self.joinRate = joinRate
        self.eventStreams = eventStreams
    }
}
