import Histogram
import Synchronization

/// Everything the clients observe, gathered in one place.
final class BenchRecorder: Sendable {
    struct State {
        var latency = Histogram<UInt64>(highestTrackableValue: 120_000_000, numberOfSignificantValueDigits: .three)
        var connect = Histogram<UInt64>(highestTrackableValue: 120_000_000, numberOfSignificantValueDigits: .three)
        var deliveries: UInt64 = 0
        var sent = 0
        var lost = 0
        var duplicated = 0
        var outOfOrder = 0
        var errors = 0
        var disconnects = 0
        var joined = 0
        /// `presence` and `typing` frames received within the measured window, by every client together.
        var announcements: UInt64 = 0
        /// Connections that could not be opened or upgraded.
        var failedConnects = 0
        var firstConnectError: String?
        var heads: [String: Int64] = [:]
        /// Plain dialect: texts sent by each sender, the "head" its receivers are checked against.
        var sentBySender: [Int: Int64] = [:]
    }

    let state = Mutex(State())

    func joined(connectMicroseconds: UInt64) {
        state.withLock { state in
            state.joined += 1
            _ = state.connect.record(connectMicroseconds)
        }
    }

    func delivered(latencyMicroseconds: UInt64?) {
        state.withLock { state in
            guard let latencyMicroseconds else { return }
            state.deliveries += 1
            _ = state.latency.record(latencyMicroseconds)
        }
    }

    func acknowledged(room: String, offset: Int64, inWindow: Bool) {
        state.withLock { state in
            state.heads[room] = max(state.heads[room] ?? 0, offset)
            if inWindow { state.sent += 1 }
        }
    }

    /// A plain-dialect sender sent its `sequence`th text (from 0).
    func sentPlain(sender: Int, sequence: Int, inWindow: Bool) {
        state.withLock { state in
            state.sentBySender[sender] = Int64(sequence + 1)
            if inWindow { state.sent += 1 }
        }
    }

    /// Adds what one client's tracker saw, against the last offset (or sequence) it should have seen.
    func tally(_ tracker: OffsetTracker, head: Int64) {
        state.withLock { state in
            state.lost += tracker.lost(head: head)
            state.duplicated += tracker.duplicated
            state.outOfOrder += tracker.outOfOrder
        }
    }

    func count(_ update: (inout State) -> Void) {
        state.withLock { update(&$0) }
    }

    /// A connection could not be opened or upgraded: a disconnect, and the first such error is kept for the report.
    func connectFailed(_ error: any Error) {
        state.withLock { state in
            state.failedConnects += 1
            state.disconnects += 1
            if state.firstConnectError == nil { state.firstConnectError = "\(error)" }
        }
    }

    /// The newest offset acknowledged in `room`: what every member should have received.
    func head(of room: String) -> Int64 {
        state.withLock { $0.heads[room] ?? 0 }
    }

    /// Plain dialect: how many texts each sender sent.
    var sentBySender: [Int: Int64] { state.withLock { $0.sentBySender } }

    /// Deliveries so far, and their latency's 99th percentile in microseconds.
    var progress: (deliveries: UInt64, p99: UInt64) {
        state.withLock { ($0.deliveries, $0.latency.valueAtPercentile(99)) }
    }

    var joinedCount: Int { state.withLock { $0.joined } }

    /// Connections that joined or failed: the next wave may open once enough have.
    var settledCount: Int { state.withLock { $0.joined + $0.failedConnects } }

    var firstConnectError: String? { state.withLock { $0.firstConnectError } }

    /// The report of a run that measured over `configuration.duration`.
    func report(
        configuration: BenchConfiguration,
        fillSeconds: Double,
        serverCPUSeconds serverCPU: Double?,
        serverThreadCPUSeconds: [String: Double]?,
        serverPeakRSSKiB: Int?
    ) -> BenchReport {
        state.withLock { state in
            func latency(_ histogram: Histogram<UInt64>) -> BenchReport.Latency {
                BenchReport.Latency(
                    p50: Double(histogram.valueAtPercentile(50)) / 1000,
                    p90: Double(histogram.valueAtPercentile(90)) / 1000,
                    p99: Double(histogram.valueAtPercentile(99)) / 1000,
                    p999: Double(histogram.valueAtPercentile(99.9)) / 1000,
                    max: Double(histogram.max) / 1000,
                    count: histogram.totalCount
                )
            }
            let seconds = configuration.duration.seconds
            return BenchReport(
                clients: configuration.clients,
                rooms: configuration.rooms,
                senders: configuration.senders,
                targetRate: configuration.rate,
                messageBytes: configuration.messageBytes,
                measuredSeconds: seconds,
                messagesSent: state.sent,
                deliveries: state.deliveries,
                deliveriesPerSecond: Double(state.deliveries) / seconds,
                latencyMilliseconds: latency(state.latency),
                lost: state.lost,
                duplicated: state.duplicated,
                outOfOrder: state.outOfOrder,
                errors: state.errors,
                disconnects: state.disconnects,
                connectMilliseconds: latency(state.connect),
                fillSeconds: fillSeconds,
                announcementsPerClientPerSecond: Double(state.announcements) / Double(max(state.joined, 1)) / seconds,
                serverCPUSeconds: serverCPU,
                serverCPUMicrosecondsPerDelivery: serverCPU.map { $0 * 1e6 / Double(max(state.deliveries, 1)) },
                serverThreadCPUSeconds: serverThreadCPUSeconds,
                serverPeakRSSKiB: serverPeakRSSKiB
            )
        }
    }
}

/// One client's view of its room's offsets: detects gaps, repeats and reordering.
struct OffsetTracker {
    private(set) var last: Int64 = 0
    private(set) var missing: Set<Int64> = []
    private(set) var duplicated = 0
    private(set) var outOfOrder = 0

    mutating func receive(_ offset: Int64) {
        if offset == last + 1 {
            last = offset
        } else if offset > last + 1 {
            for gap in (last + 1)..<offset { missing.insert(gap) }
            last = offset
        } else if missing.remove(offset) != nil {
            outOfOrder += 1
        } else {
            duplicated += 1
        }
    }

    /// Offsets never received, given the room's final head.
    func lost(head: Int64) -> Int {
        missing.count + Int(max(0, head - last))
    }
}
