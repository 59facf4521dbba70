import ArgumentParser
import Foundation
import ParleyBench

/// `parley-bench`: a load generator for any Parley server. A separate executable, so `parley` itself carries no
/// WebSocket client (and no TLS library).
@main
struct ParleyBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "parley-bench",
        abstract: "Load a Parley server: N clients in R rooms, S of them sending, and measure deliveries and latency.",
        discussion: """
            Every client connects and joins before the senders start. Latency is measured from each message's \
            scheduled send time (open loop), so a stalled server shows up as latency. Rooms are fresh for each run. \
            The server should run with --rate-limit 0 (and --max-connections-per-ip 0 for many clients).
            """
    )

    @Option(help: "The server's WebSocket endpoint.")
    var url = "ws://127.0.0.1:8000/ws"

    @Option(help: "Where the clients that do not send connect instead: another node of the same cluster (default: --url).")
    var readerUrl: String?

    @Option(help: "Connections to open.")
    var clients = 100

    @Option(help: "Rooms to spread the clients over.")
    var rooms = 1

    @Option(help: "How many of the clients send.")
    var senders = 10

    @Option(help: "Messages per second, all senders together; 0 for closed loop (each sender waits for its ack).")
    var rate: Double = 100

    @Option(help: "Bytes of text per message.")
    var size = 100

    @Option(help: "Seconds to measure.")
    var duration: Double = 10

    @Option(help: "Seconds of load before measuring.")
    var warmup: Double = 2

    @Option(help: "Clients joining per second during the measured window, beyond --clients (a room filling while it talks).")
    var joinRate: Double = 0

    @Flag(
        help:
            "Speak plain text to a broadcast server instead of parley.v1: Parley's plain mode, the tutorial's FastAPI server, or any server that sends every text to every client. One room; loss is checked per sender."
    )
    var plain = false

    @Flag(help: "The clients that do not send follow their room over Server-Sent Events (/api/v1/events, as guests) instead of a WebSocket.")
    var sse = false

    @Option(help: "With --plain: the WebSocket subprotocol to offer (e.g. lws-mirror-protocol for the libwebsockets test server).")
    var subprotocol: String?

    @Option(help: "The server's process id, when it runs on this machine: reports its CPU time per delivery over the measured window.")
    var serverPid: Int32?

    @Option(help: "Write the report as JSON to this file (- for standard output, instead of the table).")
    var json: String?

    func validate() throws {
        guard clients >= 1, rooms >= 1, senders >= 1 else { throw ValidationError("--clients, --rooms and --senders must be at least 1") }
        guard rate >= 0, rate.isFinite else { throw ValidationError("--rate must be 0 (closed loop) or a positive number") }
        guard size >= 1, size <= 1 << 20 else { throw ValidationError("--size must be 1 to 1048576 bytes") }
        guard joinRate >= 0, joinRate <= 10_000 else { throw ValidationError("--join-rate must be 0 to 10000 joins per second") }
        guard duration > 0, warmup >= 0 else { throw ValidationError("--duration must be positive and --warmup not negative") }
        guard !plain || rooms == 1 else { throw ValidationError("--plain broadcasts to every client: it has one room (leave --rooms at 1)") }
        guard plain || subprotocol == nil else { throw ValidationError("--subprotocol goes with --plain") }
        guard !(plain && sse) else { throw ValidationError("--sse is parley.v1's event stream: it does not go with --plain") }
    }

    func run() async throws {
        let configuration = BenchConfiguration(
            url: url,
            readerURL: readerUrl,
            clients: clients,
            rooms: rooms,
            senders: senders,
            rate: rate,
            messageBytes: size,
            duration: .seconds(duration),
            warmup: .seconds(warmup),
            dialect: plain ? .plain(subprotocol: subprotocol) : .parley,
            serverProcessID: serverPid,
            joinRate: joinRate,
            eventStreams: sse
        )
        let report = try await BenchRun(configuration: configuration) { line in
            FileHandle.standardError.write(Data((line + "\n").utf8))
        }.run()
        if let json {
            let text = try report.json() + "\n"
            if json == "-" {
                FileHandle.standardOutput.write(Data(text.utf8))
                return
            }
            try text.write(toFile: json, atomically: true, encoding: .utf8)
        }
        FileHandle.standardOutput.write(Data((report.table + "\n").utf8))
    }
}
