import Foundation
import HTTPTypes
import Histogram
import Logging
import NIOCore
import NIOWebSocket
import ParleyProtocol
import Synchronization
import WSClient

/// Runs a load against a Parley server and measures deliveries and latency.
///
/// Every client connects and joins first; then the senders start. Each message carries the time it was *scheduled*
/// to be sent (open loop), so a server that stalls shows the stall as latency instead of sending less.
public struct BenchRun: Sendable {
    let configuration: BenchConfiguration
    let progress: @Sendable (String) -> Void

    /// Creates a run; `progress` receives a line about once a second.
    public init(configuration: BenchConfiguration, progress: @escaping @Sendable (String) -> Void = { _ in }) {
        self.configuration = configuration
        self.progress = progress
    }

    /// Runs the load and returns what it measured.
    public func run() async throws -> BenchReport {
        let runID = String(UInt32.random(in: 0...UInt32.max), radix: 36)
        var adjusted = self.configuration
        adjusted.senders = min(adjusted.senders, adjusted.clients)
        let configuration = adjusted
        let recorder = BenchRecorder()
        let start = Gate()
        let finish = Gate()
        let clock = ContinuousClock()
        let epoch = clock.now
        let window = WindowBox()
        let padding = String(repeating: "x", count: max(0, configuration.messageBytes - 40))

        let clients = Task {
            await withTaskGroup(of: Void.self) { group in
                for index in 0..<configuration.clients {
                    if index >= configuration.connectConcurrency {
                        // Let connections open in waves.
                        while recorder.joinedCount + configuration.connectConcurrency <= index, !finish.isOpen {
                            try? await Task.sleep(for: .milliseconds(5))
                        }
                    }
                    group.addTask {
                        switch configuration.dialect {
                        case .parley:
                            await runClient(
                                index: index, runID: runID, configuration: configuration, recorder: recorder, start: start,
                                finish: finish, epoch: epoch, window: window, padding: padding
                            )
                        case .plain(let subprotocol):
                            await runPlainClient(
                                index: index, subprotocol: subprotocol, configuration: configuration, recorder: recorder,
                                start: start, finish: finish, epoch: epoch, window: window, padding: padding
                            )
                        }
                    }
                }
            }
        }

        let connectDeadline = clock.now + .seconds(120)
        while recorder.joinedCount < configuration.clients, clock.now < connectDeadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        let measureStart = clock.now + configuration.warmup
        let measureEnd = measureStart + configuration.duration
        window.set(start: measureStart - epoch, end: measureEnd - epoch)
        start.open()

        var lastDeliveries: UInt64 = 0
        var lastTick = clock.now
        var cpuAtStart: Double?
        var peakRSS: Int?
        while clock.now < measureEnd {
            if cpuAtStart == nil, clock.now >= measureStart {
                cpuAtStart = configuration.serverProcessID.flatMap(processCPUSeconds)
            }
            try await Task.sleep(for: .seconds(1))
            if let rss = configuration.serverProcessID.flatMap(processResidentKiB) { peakRSS = max(peakRSS ?? 0, rss) }
            let (deliveries, p99) = recorder.state.withLock { ($0.deliveries, $0.latency.valueAtPercentile(99)) }
            let now = clock.now
            let rate = Double(deliveries - lastDeliveries) / (now - lastTick).seconds
            progress(String(format: "%5.1f s  %10.0f deliveries/s  p99 %.2f ms", (now - epoch).seconds, rate, Double(p99) / 1000))
            lastDeliveries = deliveries
            lastTick = now
        }
        let serverCPU = cpuAtStart.flatMap { start in configuration.serverProcessID.flatMap(processCPUSeconds).map { $0 - start } }
        // Let the last messages arrive.
        try await Task.sleep(for: .seconds(2))
        finish.open()
        await clients.value

        return recorder.state.withLock { state in
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
                clients: configuration.clients, rooms: configuration.rooms, senders: configuration.senders,
                targetRate: configuration.rate, messageBytes: configuration.messageBytes, measuredSeconds: seconds,
                messagesSent: state.sent, deliveries: state.deliveries,
                deliveriesPerSecond: Double(state.deliveries) / seconds, latencyMilliseconds: latency(state.latency),
                lost: state.lost, duplicated: state.duplicated, outOfOrder: state.outOfOrder, errors: state.errors,
                disconnects: state.disconnects, connectMilliseconds: latency(state.connect),
                serverCPUSeconds: serverCPU,
                serverCPUMicrosecondsPerDelivery: serverCPU.map { $0 * 1e6 / Double(max(state.deliveries, 1)) },
                serverPeakRSSKiB: peakRSS
            )
        }
    }
}

/// User plus system CPU seconds a process has used, from `/proc/PID/stat` (`nil` where there is no such file).
func processCPUSeconds(_ processID: Int32) -> Double? {
    guard let stat = try? String(contentsOfFile: "/proc/\(processID)/stat", encoding: .utf8),
        let afterName = stat.lastIndex(of: ")")
    else { return nil }
    // Fields after the command name start at field 3 (state); utime and stime are fields 14 and 15.
    let fields = stat[stat.index(after: afterName)...].split(separator: " ")
    guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
    return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
}

/// A process's resident memory in KiB, from `/proc/PID/status` (`nil` where there is no such file).
func processResidentKiB(_ processID: Int32) -> Int? {
    guard let status = try? String(contentsOfFile: "/proc/\(processID)/status", encoding: .utf8),
        let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") })
    else { return nil }
    return line.split(separator: " ").dropFirst().first.flatMap { Int($0) }
}

/// The measured window, as offsets from the run's epoch; set once before the senders start.
final class WindowBox: Sendable {
    private let bounds = Mutex<(start: Duration, end: Duration)>((.zero, .zero))

    func set(start: Duration, end: Duration) { bounds.withLock { $0 = (start, end) } }

    func contains(_ time: Duration) -> Bool {
        bounds.withLock { time >= $0.start && time <= $0.end }
    }

    var end: Duration { bounds.withLock { $0.end } }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
    var microseconds: UInt64 { UInt64(max(0, seconds * 1_000_000)) }
}

private func runClient(
    index: Int, runID: String, configuration: BenchConfiguration, recorder: BenchRecorder, start: Gate, finish: Gate,
    epoch: ContinuousClock.Instant, window: WindowBox, padding: String
) async {
    let room = "bench-\(runID)-\(index % configuration.rooms)"
    let isSender = index < configuration.senders
    let clock = ContinuousClock()
    let connectStarted = clock.now
    var headers = HTTPFields()
    headers[.secWebSocketProtocol] = "parley.v1"
    let clientConfiguration = WebSocketClientConfiguration(maxFrameSize: 1 << 20, additionalHeaders: headers)
    let acks = AsyncStream<Void>.makeStream()
    do {
        _ = try await WebSocketClient.connect(url: configuration.url, configuration: clientConfiguration, logger: Logger(label: "bench")) {
            inbound, outbound, _ in
            try await outbound.write(.text(ClientFrame(command: .hello(name: "bench-\(index)", token: nil)).jsonText()))
            try await outbound.write(.text(ClientFrame(command: .join(room: room, since: nil)).jsonText()))
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    await start.wait()
                    if isSender {
                        try await send(
                            to: outbound, index: index, configuration: configuration, epoch: epoch, window: window,
                            acks: acks.stream, finish: finish
                        ) { sequence, scheduledAt in
                            BenchMessage.command(room: room, sender: index, sequence: sequence, scheduledAt: scheduledAt, padding: padding)
                        }
                    }
                    await finish.wait()
                    try await outbound.close(.normalClosure, reason: nil)
                }
                var tracker = OffsetTracker()
                for try await message in inbound.messages(maxSize: 1 << 24) {
                    guard case .text(let text) = message else { continue }
                    let receivedAt = clock.now - epoch
                    if let fast = BenchMessage.parseDelivery(text) {
                        tracker.receive(fast.offset)
                        let sentAt = Duration.nanoseconds(fast.scheduledNanos)
                        recorder.delivered(latencyMicroseconds: window.contains(sentAt) ? (receivedAt - sentAt).microseconds : nil)
                        continue
                    }
                    guard let event = try? ServerEvent.decode(text) else { continue }
                    switch event {
                    case .joined:
                        recorder.joined(connectMicroseconds: (clock.now - connectStarted).microseconds)
                    case .message(let chat):
                        tracker.receive(chat.offset)
                        let sentAt = BenchMessage.scheduledTime(in: chat.text)
                        recorder.delivered(latencyMicroseconds: sentAt.flatMap { window.contains($0) ? (receivedAt - $0).microseconds : nil })
                    case .ack(_, let ackRoom, let id, let offset, _):
                        let sentAt = BenchMessage.scheduledTime(in: id)
                        recorder.acknowledged(room: ackRoom, offset: offset, inWindow: sentAt.map(window.contains) ?? false)
                        acks.continuation.yield()
                    case .error:
                        recorder.count { $0.errors += 1 }
                    default:
                        continue
                    }
                }
                acks.continuation.finish()
                let head = recorder.state.withLock { $0.heads[room] ?? 0 }
                recorder.tally(tracker, head: head)
                if !finish.isOpen { recorder.count { $0.disconnects += 1 } }
                group.cancelAll()
            }
        }
    } catch {
        // Once the run has finished, closing is the point; a server that drops the connection then lost nothing.
        if !finish.isOpen { recorder.count { $0.disconnects += 1 } }
    }
}

/// One plain-dialect client: connects, counts every bench text it receives, and (if a sender) sends its own.
private func runPlainClient(
    index: Int, subprotocol: String?, configuration: BenchConfiguration, recorder: BenchRecorder, start: Gate,
    finish: Gate, epoch: ContinuousClock.Instant, window: WindowBox, padding: String
) async {
    let isSender = index < configuration.senders
    let clock = ContinuousClock()
    let connectStarted = clock.now
    var headers = HTTPFields()
    if let subprotocol { headers[.secWebSocketProtocol] = subprotocol }
    let clientConfiguration = WebSocketClientConfiguration(maxFrameSize: 1 << 20, additionalHeaders: headers)
    let ownTextsBack = AsyncStream<Void>.makeStream()
    do {
        _ = try await WebSocketClient.connect(url: configuration.url, configuration: clientConfiguration, logger: Logger(label: "bench")) {
            inbound, outbound, _ in
            recorder.joined(connectMicroseconds: (clock.now - connectStarted).microseconds)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    await start.wait()
                    if isSender {
                        try await send(
                            to: outbound, index: index, configuration: configuration, epoch: epoch, window: window,
                            acks: ownTextsBack.stream, finish: finish
                        ) { sequence, scheduledAt in
                            recorder.sentPlain(sender: index, sequence: sequence, inWindow: window.contains(scheduledAt))
                            return BenchMessage.plainText(sender: index, sequence: sequence, scheduledAt: scheduledAt, padding: padding)
                        }
                    }
                    await finish.wait()
                    try await outbound.close(.normalClosure, reason: nil)
                }
                var trackers: [Int: OffsetTracker] = [:]
                for try await message in inbound.messages(maxSize: 1 << 24) {
                    guard case .text(let text) = message, let delivery = BenchMessage.parsePlain(text) else { continue }
                    let receivedAt = clock.now - epoch
                    trackers[delivery.sender, default: OffsetTracker()].receive(delivery.sequence + 1)
                    let sentAt = Duration.nanoseconds(delivery.scheduledNanos)
                    recorder.delivered(latencyMicroseconds: window.contains(sentAt) ? (receivedAt - sentAt).microseconds : nil)
                    if delivery.sender == index { ownTextsBack.continuation.yield() }
                }
                ownTextsBack.continuation.finish()
                for (sender, sent) in recorder.state.withLock({ $0.sentBySender }) {
                    recorder.tally(trackers[sender] ?? OffsetTracker(), head: sent)
                }
                if !finish.isOpen { recorder.count { $0.disconnects += 1 } }
                group.cancelAll()
            }
        }
    } catch {
        // Once the run has finished, closing is the point; a server that drops the connection then lost nothing.
        if !finish.isOpen { recorder.count { $0.disconnects += 1 } }
    }
}

/// Sends until the measured window ends: at the configured rate (open loop, each text stamped with its scheduled
/// time), or one at a time waiting for `acks` (closed loop).
private func send(
    to outbound: WebSocketOutboundWriter, index: Int, configuration: BenchConfiguration, epoch: ContinuousClock.Instant,
    window: WindowBox, acks: AsyncStream<Void>, finish: Gate, frame: (_ sequence: Int, _ scheduledAt: Duration) -> String
) async throws {
    let clock = ContinuousClock()
    var sequence = 0
    if configuration.rate > 0 {
        let interval = Duration.seconds(Double(configuration.senders) / configuration.rate)
        var next = clock.now + interval * (Double(index) / Double(configuration.senders))
        while next - epoch <= window.end, !finish.isOpen {
            try await clock.sleep(until: next)
            try await outbound.write(.text(frame(sequence, next - epoch)))
            sequence += 1
            next += interval
        }
    } else {
        var pendingAcks = acks.makeAsyncIterator()
        while clock.now - epoch <= window.end, !finish.isOpen {
            try await outbound.write(.text(frame(sequence, clock.now - epoch)))
            sequence += 1
            guard await pendingAcks.next() != nil else { return }
        }
    }
}

/// How bench messages carry their scheduled send time: in the id and in the text.
enum BenchMessage {
    static func command(room: String, sender: Int, sequence: Int, scheduledAt: Duration, padding: String) -> String {
        let nanos = scheduledAt.components.seconds * 1_000_000_000 + scheduledAt.components.attoseconds / 1_000_000_000
        let id = "\(sender)-\(sequence)-\(nanos)"
        return ClientFrame(command: .send(room: room, text: "bench|\(nanos)|\(padding)", id: id)).jsonText()
    }

    /// A plain-dialect text: `bench|NANOS|SENDER|SEQUENCE|padding`.
    static func plainText(sender: Int, sequence: Int, scheduledAt: Duration, padding: String) -> String {
        let nanos = scheduledAt.components.seconds * 1_000_000_000 + scheduledAt.components.attoseconds / 1_000_000_000
        return "bench|\(nanos)|\(sender)|\(sequence)|\(padding)"
    }

    /// Reads a plain-dialect text as a broadcast server returns it (any prefix, e.g. `Mensagem recebida: `);
    /// `nil` for other texts.
    static func parsePlain(_ text: String) -> (scheduledNanos: Int64, sender: Int, sequence: Int64)? {
        var utf8 = Substring(text).utf8
        guard let nanos = integer(after: "bench|", in: &utf8), let sender = integer(after: "|", in: &utf8),
            let sequence = integer(after: "|", in: &utf8)
        else { return nil }
        return (nanos, Int(sender), sequence)
    }

    /// Reads a bench `message` frame without a JSON decoder: the bench must not be the slower side. Relies on
    /// the server writing keys in sorted order (`…"offset":N,"room":…,"text":"bench|NANOS|…`); any other frame gives
    /// `nil` and is decoded in full.
    static func parseDelivery(_ frame: String) -> (offset: Int64, scheduledNanos: Int64)? {
        var utf8 = Substring(frame).utf8
        guard utf8.last == UInt8(ascii: "}"), frame.hasSuffix(#""type":"message"}"#) else { return nil }
        guard let offset = integer(after: #""offset":"#, in: &utf8), let nanos = integer(after: #""text":"bench|"#, in: &utf8)
        else { return nil }
        return (offset, nanos)
    }

    /// The integer right after `marker`, searching forward from the start of `utf8`, which is advanced past it.
    private static func integer(after marker: String, in utf8: inout Substring.UTF8View) -> Int64? {
        let pattern = Array(marker.utf8)
        var index = utf8.startIndex
        while index != utf8.endIndex {
            if utf8[index...].starts(with: pattern) {
                var cursor = utf8.index(index, offsetBy: pattern.count)
                var value: Int64 = 0
                var digits = 0
                while cursor != utf8.endIndex, let digit = utf8[cursor].asciiDigit, digits < 19 {
                    value = value * 10 + Int64(digit)
                    digits += 1
                    cursor = utf8.index(after: cursor)
                }
                guard digits > 0 else { return nil }
                utf8 = utf8[cursor...]
                return value
            }
            index = utf8.index(after: index)
        }
        return nil
    }

    /// The scheduled time in a message text (`bench|NANOS|…`) or id (`SENDER-SEQ-NANOS`).
    static func scheduledTime(in field: String) -> Duration? {
        let nanos: Int64?
        if field.hasPrefix("bench|") {
            nanos = field.split(separator: "|", maxSplits: 2).dropFirst().first.flatMap { Int64($0) }
        } else {
            nanos = field.split(separator: "-").last.flatMap { Int64($0) }
        }
        return nanos.map { .nanoseconds($0) }
    }
}

extension UInt8 {
    fileprivate var asciiDigit: UInt8? {
        self >= UInt8(ascii: "0") && self <= UInt8(ascii: "9") ? self - UInt8(ascii: "0") : nil
    }
}
