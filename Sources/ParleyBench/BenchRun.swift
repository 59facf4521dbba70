import Foundation
import NIOCore
import NIOPosix
import Synchronization

/// Runs a load against a Parley server and measures deliveries and latency.
///
/// Every client connects and joins first; then the senders start. Each message carries the time it was *scheduled*
/// to be sent (open loop), so a server that stalls shows the stall as latency instead of sending less. The clients
/// are channel handlers on NIO event loops (``BenchClient``), so one core of bench keeps up with a server fanning out
/// 100,000 deliveries a second.
package struct BenchRun: Sendable {
    let configuration: BenchConfiguration
    let progress: @Sendable (String) -> Void

    /// Creates a run; `progress` receives a line about once a second.
    package init(configuration: BenchConfiguration, progress: @escaping @Sendable (String) -> Void = { _ in }) {
        self.configuration = configuration
        self.progress = progress
    }

    /// Runs the load and returns what it measured.
    /// - Throws: ``BenchError`` when the URL is not one the bench speaks to, or no client could connect.
    package func run() async throws -> BenchReport {
        let endpoint = try BenchEndpoint(url: configuration.url)
        let readerEndpoint = try configuration.readerURL.map { url throws(BenchError) in try BenchEndpoint(url: url) }
        var adjusted = configuration
        adjusted.senders = min(adjusted.senders, adjusted.clients)
        let run = BenchRunContext(configuration: adjusted)
        let recorder = run.recorder
        let group = MultiThreadedEventLoopGroup(numberOfThreads: System.coreCount)
        let connector = BenchConnector(senderEndpoint: endpoint, readerEndpoint: readerEndpoint ?? endpoint, group: group, run: run)

        let fillStart = run.clock.now()
        let connectDeadline = fillStart + .seconds(120)
        for index in 0..<adjusted.clients {
            // Connections open in waves.
            while recorder.settledCount + adjusted.connectConcurrency <= index, run.clock.now() < connectDeadline {
                try await Task.sleep(for: .milliseconds(5))
            }
            connector.connect(index: index).whenFailure { error in recorder.connectFailed(error) }
        }
        while recorder.settledCount < adjusted.clients, run.clock.now() < connectDeadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        let fillSeconds = (run.clock.now() - fillStart).seconds
        if recorder.joinedCount == 0 {
            try await group.shutdownGracefully()
            throw BenchError.noClientConnected(url: adjusted.url, reason: recorder.firstConnectError ?? "no answer within 120 s")
        }

        let measureStart = run.clock.now() + adjusted.warmup
        let measureEnd = measureStart + adjusted.duration
        run.window.set(start: measureStart, end: measureEnd)
        run.start()
        let (joinRate, firstLateJoiner) = (adjusted.joinRate, adjusted.clients)
        let joiners = Task {
            // Late joiners, evenly spaced through the measured window.
            guard joinRate > 0 else { return }
            var index = firstLateJoiner
            while run.clock.now() < measureStart { try await Task.sleep(for: .milliseconds(10)) }
            while run.clock.now() < measureEnd {
                connector.connect(index: index).whenFailure { error in recorder.connectFailed(error) }
                index += 1
                try await Task.sleep(for: .seconds(1 / joinRate))
            }
        }

        var lastDeliveries: UInt64 = 0
        var lastTick = run.clock.now()
        var cpuAtStart: Double?
        var threadsAtStart: [String: Double]?
        var peakRSS: Int?
        while run.clock.now() < measureEnd {
            if cpuAtStart == nil, run.clock.now() >= measureStart {
                cpuAtStart = adjusted.serverProcessID.flatMap(processCPUSeconds)
                threadsAtStart = adjusted.serverProcessID.flatMap(threadCPUSeconds)
            }
            try await Task.sleep(for: .seconds(1))
            if let rss = adjusted.serverProcessID.flatMap(processResidentKiB) { peakRSS = max(peakRSS ?? 0, rss) }
            let (deliveries, p99) = recorder.progress
            let now = run.clock.now()
            let rate = Double(deliveries - lastDeliveries) / (now - lastTick).seconds
            progress(String(format: "%5.1f s  %10.0f deliveries/s  p99 %.2f ms", now.seconds, rate, Double(p99) / 1000))
            lastDeliveries = deliveries
            lastTick = now
        }
        joiners.cancel()
        let serverCPU = cpuAtStart.flatMap { start in adjusted.serverProcessID.flatMap(processCPUSeconds).map { $0 - start } }
        let serverThreads = threadsAtStart.flatMap { start in
            adjusted.serverProcessID.flatMap(threadCPUSeconds).map { end in
                end.merging(start.mapValues { -$0 }, uniquingKeysWith: +).filter { $0.value > 0 }
            }
        }
        // Let the last messages arrive.
        try await Task.sleep(for: .seconds(2))
        await run.finish(on: group.next())
        try await group.shutdownGracefully()
        return recorder.report(
            configuration: adjusted,
            fillSeconds: fillSeconds,
            serverCPUSeconds: serverCPU,
            serverThreadCPUSeconds: serverThreads,
            serverPeakRSSKiB: peakRSS
        )
    }
}

/// A client of a run, on its event loop: told when the senders start and when the run is over.
protocol BenchParticipant: AnyObject {
    /// The run's senders start.
    func start()
    /// The run is over: close.
    func finish()
}

/// What every client of a run shares, and how the run reaches its clients on their event loops.
final class BenchRunContext: Sendable {
    private enum Phase {
        case connecting, started, finished
    }

    let configuration: BenchConfiguration
    /// Makes the run's room names unique, so each run starts from empty rooms.
    let runID = String(UInt32.random(in: 0...UInt32.max), radix: 36)
    let recorder = BenchRecorder()
    let clock = BenchClock()
    let window = WindowBox()
    /// Fills each message's text to the configured size.
    let padding: String
    private let clients = Mutex<(registered: [(client: NIOLoopBound<any BenchParticipant>, channel: any Channel)], phase: Phase)>(
        ([], .connecting)
    )

    init(configuration: BenchConfiguration) {
        self.configuration = configuration
        padding = String(repeating: "x", count: max(0, configuration.messageBytes - 40))
    }

    /// Adds a client whose upgrade succeeded; on its event loop. A client that arrives late catches up with the run.
    func register(_ client: NIOLoopBound<any BenchParticipant>, channel: any Channel) {
        let phase = clients.withLock { clients in
            clients.registered.append((client, channel))
            return clients.phase
        }
        switch phase {
        case .connecting: break
        case .started: client.value.start()
        case .finished: client.value.finish()
        }
    }

    /// The senders start.
    func start() {
        let registered = clients.withLock { clients in
            clients.phase = .started
            return clients.registered
        }
        for (client, channel) in registered {
            channel.eventLoop.execute { client.value.start() }
        }
    }

    /// The room of client `index`.
    func room(of index: Int) -> String {
        "bench-\(runID)-\(index % configuration.rooms)"
    }

    /// Counts a delivery of a message, with its latency if it was sent within the measured window.
    func recordLatency(sentAt: Duration, receivedAt: Duration) {
        recorder.delivered(latencyMicroseconds: window.contains(sentAt) ? (receivedAt - sentAt).microseconds : nil)
    }

    /// Whether the run has finished: a connection that ends from now on is no disconnect.
    var isFinished: Bool {
        clients.withLock { $0.phase == .finished }
    }

    /// Every client closes; returns once all connections have ended (after 10 s, those left are dropped).
    func finish(on eventLoop: any EventLoop) async {
        let registered = clients.withLock { clients in
            clients.phase = .finished
            return clients.registered
        }
        for (client, channel) in registered {
            channel.eventLoop.execute { client.value.finish() }
        }
        let channels = registered.map(\.channel)
        let dropStragglers = eventLoop.scheduleTask(in: .seconds(10)) {
            for channel in channels { channel.close(promise: nil) }
        }
        try? await EventLoopFuture.andAllComplete(channels.map(\.closeFuture), on: eventLoop).get()
        dropStragglers.cancel()
    }
}

/// Times within a run, as offsets from its start on NIO's monotonic clock (the one its timers use).
struct BenchClock: Sendable {
    private let epoch = NIODeadline.now()

    /// How long the run has been going.
    func now() -> Duration {
        Duration(NIODeadline.now() - epoch)
    }

    /// The deadline `offset` into the run, for scheduling on an event loop.
    func deadline(at offset: Duration) -> NIODeadline {
        epoch + TimeAmount(offset)
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
    var microseconds: UInt64 { UInt64(max(0, seconds * 1_000_000)) }
    var nanoseconds: Int64 { components.seconds * 1_000_000_000 + components.attoseconds / 1_000_000_000 }
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

/// CPU seconds the threads of a process have used, added up by thread name, from each thread's
/// `/proc/PID/task/TID/schedstat` (nanoseconds, so a window of a few seconds is exact where clock ticks are 10 ms);
/// `nil` where there is no such directory. A thread that ends meanwhile takes its time with it.
func threadCPUSeconds(_ processID: Int32) -> [String: Double]? {
    guard let threads = try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(processID)/task") else { return nil }
    var seconds: [String: Double] = [:]
    for thread in threads {
        let folder = "/proc/\(processID)/task/\(thread)"
        guard let name = try? String(contentsOfFile: "\(folder)/comm", encoding: .utf8),
            let schedstat = try? String(contentsOfFile: "\(folder)/schedstat", encoding: .utf8),
            let nanoseconds = schedstat.split(separator: " ").first.flatMap({ Double($0) })
        else { continue }
        seconds[name.trimmingCharacters(in: .whitespacesAndNewlines), default: 0] += nanoseconds / 1e9
    }
    return seconds
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
