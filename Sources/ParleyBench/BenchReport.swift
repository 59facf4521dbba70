import Foundation

/// What a bench run measured.
package struct BenchReport: Codable, Sendable {
    package struct Latency: Codable, Sendable {
        package var p50: Double
        package var p90: Double
        package var p99: Double
        package var p999: Double
        package var max: Double
        package var count: UInt64
    }

    package var clients: Int
    package var rooms: Int
    package var senders: Int
    package var targetRate: Double
    package var messageBytes: Int
    package var measuredSeconds: Double
    /// Messages acknowledged during the measured window.
    package var messagesSent: Int
    /// Message frames received by all clients during the measured window.
    package var deliveries: UInt64
    package var deliveriesPerSecond: Double
    /// Latency from the scheduled send time to receipt, in milliseconds (open loop: a stalled server cannot hide it).
    package var latencyMilliseconds: Latency
    /// Offsets a client never received (gaps, and messages missing at the end of the run).
    package var lost: Int
    /// Offsets a client received more than once.
    package var duplicated: Int
    /// Offsets that arrived lower than one already received.
    package var outOfOrder: Int
    /// `error` frames received (rate_limited and others).
    package var errors: Int
    /// Connections that closed before the end.
    package var disconnects: Int
    /// Time from opening a connection to its `joined`, in milliseconds.
    package var connectMilliseconds: Latency
    /// Time from the first connection to the last client's `joined` (or failure), in seconds: how long the rooms
    /// took to fill.
    package var fillSeconds: Double
    /// `presence` and `typing` frames each client received per second of the measured window, on average.
    package var announcementsPerClientPerSecond: Double
    /// The server's CPU time (user + system) during the measured window, when its process id was given.
    package var serverCPUSeconds: Double?
    /// That CPU time divided by the deliveries.
    package var serverCPUMicrosecondsPerDelivery: Double?
    /// The server's CPU time in the measured window by thread name (threads of one name added up), when its process
    /// id was given: which thread a change made cheaper.
    package var serverThreadCPUSeconds: [String: Double]?
    /// The server's resident memory, highest of the samples taken each second of the measured window, in KiB.
    package var serverPeakRSSKiB: Int?

    /// The report as the table `parley bench` prints.
    package var table: String {
        func ms(_ value: Double) -> String { String(format: "%.2f ms", value) }
        let rows: [(String, String)] =
            [
                ("clients / rooms / senders", "\(clients) / \(rooms) / \(senders)"),
                ("target rate", targetRate > 0 ? String(format: "%.0f msg/s", targetRate) : "closed loop"),
                ("message size", "\(messageBytes) bytes"),
                ("measured", String(format: "%.1f s", measuredSeconds)),
                ("messages sent (acked)", "\(messagesSent)"),
                ("deliveries", "\(deliveries)"),
                ("deliveries/s", String(format: "%.0f", deliveriesPerSecond)),
                ("latency p50", ms(latencyMilliseconds.p50)),
                ("latency p90", ms(latencyMilliseconds.p90)),
                ("latency p99", ms(latencyMilliseconds.p99)),
                ("latency p99.9", ms(latencyMilliseconds.p999)),
                ("latency max", ms(latencyMilliseconds.max)),
                ("lost / duplicated / out of order", "\(lost) / \(duplicated) / \(outOfOrder)"),
                ("errors / disconnects", "\(errors) / \(disconnects)"),
                ("connect p50 / p99 / max", "\(ms(connectMilliseconds.p50)) / \(ms(connectMilliseconds.p99)) / \(ms(connectMilliseconds.max))"),
                ("rooms filled in", String(format: "%.2f s", fillSeconds)),
                ("presence and typing frames", String(format: "%.2f per client per second", announcementsPerClientPerSecond)),
            ]
            + (serverCPUSeconds.map { cpu in
                [("server CPU, measured window", String(format: "%.2f s = %.2f µs per delivery", cpu, serverCPUMicrosecondsPerDelivery ?? 0))]
            } ?? [])
            + (serverThreadCPUSeconds.map { threads in
                let busiest = threads.sorted { $0.value > $1.value }.prefix(4)
                return [("server CPU by thread", busiest.map { "\($0.key) " + String(format: "%.2f s", $0.value) }.joined(separator: ", "))]
            } ?? []) + (serverPeakRSSKiB.map { [("server memory (peak RSS)", "\($0) KiB")] } ?? [])
        let width = rows.map(\.0.count).max() ?? 0
        return rows.map { $0.0.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + $0.1 }.joined(separator: "\n")
    }

    /// The report as JSON.
    package func json() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }
}
