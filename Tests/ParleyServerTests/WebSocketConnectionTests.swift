import Logging
import NIOCore
import NIOEmbedded
import ParleyCore
import ParleyProtocol
import Synchronization
import Testing

@testable import ParleyServer

/// The channel handler around the state machine, on NIO's testing channel: what reaches the session, what is
/// written, when the connection closes and when reads are held back, with the loop's time moved by hand.
@Suite struct WebSocketConnectionTests {
    /// Guests only: the handler's tests are not about who is who.
    struct GuestsOnly: IdentityProvider {
        var guestsAllowed: Bool { true }
        func authenticate(token: String) async throws -> Credential { throw AuthenticationFailure("no accounts here") }
        func isTakenByAnAccount(_ name: String) async throws -> Bool { false }
    }

    /// Counts the reads the handler lets through to the socket.
    final class ReadCounter: ChannelOutboundHandler, Sendable {
        typealias OutboundIn = Never
        let reads = Mutex(0)

        func read(context: ChannelHandlerContext) {
            reads.withLock { $0 += 1 }
            context.read()
        }
    }

    /// One connection's handler on a testing channel, connected, with its hub.
    struct Harness {
        let channel = NIOAsyncTestingChannel()
        let connection: Connection
        let readCounter = ReadCounter()

        /// - Parameters:
        ///   - mode: How the client speaks.
        ///   - appendsHeld: Appends wait in it until it opens, as on a store that is slow to commit.
        init(limits: Limits = Limits(), mode: Connection.Mode = .parley, appendsHeld gate: AppendGate? = nil) async throws {
            let hub = Hub(limits: limits)
            let memory = InMemoryMessageStore(onCommit: { hub.deliver($0) })
            let store: any MessageStore = gate.map { AppendGate.Store(memory, gate: $0) } ?? memory
            let settings = WebSocketConnection.Settings(
                hub: hub,
                store: store,
                limits: limits,
                userLimits: .perUser,
                identity: GuestsOnly(),
                signedIn: SignedInConnections(),
                rooms: InMemoryRoomStore(messages: memory),
                node: "test",
                heartbeat: Heartbeat(interval: .seconds(25), timeout: .seconds(10)),
                logger: Logger(label: "test")
            )
            let connection = hub.connect(mode: mode)!
            self.connection = connection
            let readCounter = self.readCounter
            try await channel.testingEventLoop.executeInContext { [channel] in
                try channel.pipeline.syncOperations.addHandler(readCounter)
                try channel.pipeline.syncOperations.addHandler(
                    WebSocketConnection(connection: connection, settings: settings, client: .unlimited(), credential: nil)
                )
            }
            try await channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 8000))
        }

        func receive(_ bytes: ByteBuffer) async throws {
            try await channel.writeInbound(bytes)
        }

        /// The next buffer written to the socket, once the loop and the session's task have made it.
        func nextWrite() async throws -> ByteBuffer? {
            for _ in 0..<2000 {
                await channel.testingEventLoop.run()
                if let written = try await channel.readOutbound(as: ByteBuffer.self) { return written }
                try await Task.sleep(for: .milliseconds(1))
            }
            return nil
        }

        /// Everything written to the socket so far, as one buffer (frames drained together are written together).
        func everythingWritten() async throws -> ByteBuffer {
            await channel.testingEventLoop.run()
            var all = ByteBuffer()
            while var written = try await channel.readOutbound(as: ByteBuffer.self) { all.writeBuffer(&written) }
            return all
        }

        /// Whether the connection is still open after what the loop has to do now.
        func isOpen() async -> Bool {
            await channel.testingEventLoop.run()
            return channel.isActive
        }

        func advanceTime(by duration: TimeAmount) async {
            await channel.testingEventLoop.advanceTime(by: duration)
        }

        /// A text command from the client.
        func send(_ json: String) async throws {
            try await receive(clientText(json))
        }
    }

    @Test func aCommandReachesTheSessionAndItsReplyIsWritten() async throws {
        let harness = try await Harness()
        try await harness.send(#"{"type":"hello","name":"Ana","ref":"h"}"#)
        let reply = try #require(try await harness.nextWrite())
        #expect(Frame.payload(of: reply).contains(#""type":"welcome""#))
        #expect(await harness.isOpen())
    }

    @Test func aViolationIsAnsweredWithItsCloseCodeThenTheConnectionCloses() async throws {
        let harness = try await Harness()
        try await harness.receive(clientFrame(Array("x".utf8), masked: false))
        let close = try #require(try await harness.nextWrite())
        #expect(close == Frame.close(code: 1002, reason: "client frames must be masked"))
        #expect(await !harness.isOpen())
    }

    @Test func theClientsCloseIsEchoedThenTheConnectionCloses() async throws {
        let harness = try await Harness()
        try await harness.receive(clientClose(1000, reason: "bye"))
        #expect(try await harness.nextWrite() == Frame.close(code: 1000))
        #expect(await !harness.isOpen())
    }

    @Test func pingsAreAnsweredThroughTheOutboxWithinTheRateLimit() async throws {
        let harness = try await Harness(limits: Limits(commandsPerSecond: 0.001, commandBurst: 2))
        for payload in ["a", "b", "c"] { try await harness.receive(clientFrame(Array(payload.utf8), opcode: 0x9)) }
        var pongs = Frame.pong(echoing: ByteBuffer(string: "a"))
        pongs.writeImmutableBuffer(Frame.pong(echoing: ByteBuffer(string: "b")))
        #expect(try await harness.everythingWritten() == pongs, "the third ping is over the limit and not answered")
    }

    @Test func aConnectionThatLeavesAPingUnansweredIsDropped() async throws {
        let harness = try await Harness()
        await harness.advanceTime(by: .seconds(25))
        let ping = try #require(try await harness.nextWrite())
        #expect(ping.getInteger(at: 0, as: UInt8.self) == 0x89 && ping.readableBytes == 10)
        await harness.advanceTime(by: .seconds(9))
        #expect(await harness.isOpen())
        await harness.advanceTime(by: .seconds(1))
        #expect(await !harness.isOpen())
    }

    @Test func aConnectionThatEchoesThePingStays() async throws {
        let harness = try await Harness()
        await harness.advanceTime(by: .seconds(25))
        let ping = try #require(try await harness.nextWrite())
        let payload = Array(ping.getSlice(at: 2, length: 8)!.readableBytesView)
        try await harness.receive(clientFrame(payload, opcode: 0xA))
        await harness.advanceTime(by: .seconds(10))
        #expect(await harness.isOpen())
    }

    @Test func theServersCloseIsDroppedWhenNeverAnswered() async throws {
        let harness = try await Harness()
        harness.connection.outbox.close(.goingAway, reason: "server shutting down")
        #expect(try await harness.nextWrite() == Frame.close(code: 1001, reason: "server shutting down"))
        await harness.advanceTime(by: .seconds(2))
        #expect(await harness.isOpen(), "written in time: the client has as long again to answer")
        await harness.advanceTime(by: .seconds(2))
        #expect(await !harness.isOpen())
    }

    @Test func theServersCloseEndsTheConnectionWhenAnswered() async throws {
        let harness = try await Harness()
        harness.connection.outbox.close(.goingAway, reason: "server shutting down")
        _ = try await harness.nextWrite()
        try await harness.send(#"{"type":"ping","ref":"late"}"#)
        try await harness.receive(clientClose(1001))
        #expect(await !harness.isOpen())
        #expect(try await harness.channel.readOutbound(as: ByteBuffer.self) == nil, "nothing is answered after the close")
    }

    /// Holds appends until it fails them all, as a database that hangs and then errs; its ``Store`` keeps the other
    /// operations of the store it wraps.
    final class AppendGate: Sendable {
        struct Unreachable: Error {}
        private let held = Mutex<[AppendAnswer]>([])

        var heldCount: Int { held.withLock { $0.count } }

        func failAll() {
            for answer in held.withLock({ held in
                defer { held = [] }
                return held
            }) { answer(.failure(Unreachable())) }
        }

        fileprivate func hold(_ answer: @escaping AppendAnswer) {
            held.withLock { $0.append(answer) }
        }

        struct Store: MessageStore {
            let inner: InMemoryMessageStore
            let gate: AppendGate
            init(_ inner: InMemoryMessageStore, gate: AppendGate) {
                self.inner = inner
                self.gate = gate
            }
            func run() async throws { try await inner.run() }
            func append(_ drafts: [MessageDraft], then answer: @escaping AppendAnswer) { gate.hold(answer) }
            func messages(in room: String, after offset: Int64, limit: Int) async throws -> [StoredMessage] {
                try await inner.messages(in: room, after: offset, limit: limit)
            }
            func messages(in room: String, before offset: Int64?, limit: Int) async throws -> [StoredMessage] {
                try await inner.messages(in: room, before: offset, limit: limit)
            }
            func head(of room: String) async throws -> Int64 { try await inner.head(of: room) }
            func checkReachable() async throws {}
        }
    }

    /// A plain client is told nothing when its text cannot be stored: only the store's answer can let it be read
    /// again.
    @Test func readsAreHeldBackWhileTheClientsSendsWaitForTheStoreAndResumedOnceAnswered() async throws {
        let gate = AppendGate()
        let harness = try await Harness(limits: Limits(outboxFrames: 8), mode: .plain, appendsHeld: gate)
        for index in 1...2 { try await harness.send("text \(index)") }
        for _ in 0..<2000 where gate.heldCount < 2 {
            await harness.channel.testingEventLoop.run()
            try await Task.sleep(for: .milliseconds(1))
        }
        #expect(gate.heldCount == 2, "both sends wait for the store: as many as an outbox of 8 frames allows")
        let before = harness.readCounter.reads.withLock { $0 }
        harness.channel.read()
        await harness.channel.testingEventLoop.run()
        #expect(harness.readCounter.reads.withLock { $0 } == before, "the client is not read while its sends wait")
        gate.failAll()
        await harness.channel.testingEventLoop.run()
        #expect(harness.readCounter.reads.withLock { $0 } == before + 1, "the held read is made once the sends are answered")
        #expect(try await harness.everythingWritten().readableBytes == 0)
    }

    @Test func readsAreHeldBackWhileTheOutboxIsOverHalfFullAndResumedWhenItDrains() async throws {
        let harness = try await Harness(limits: Limits(outboxFrames: 4))
        harness.channel.isWritable = false
        harness.channel.pipeline.fireChannelWritabilityChanged()
        for index in 0..<3 { _ = harness.connection.outbox.push(OutboundFrame(Frame.text("queued \(index)"))) }
        let before = harness.readCounter.reads.withLock { $0 }
        harness.channel.read()
        await harness.channel.testingEventLoop.run()
        #expect(harness.readCounter.reads.withLock { $0 } == before, "the client is not read while it is behind")
        harness.channel.isWritable = true
        harness.channel.pipeline.fireChannelWritabilityChanged()
        await harness.channel.testingEventLoop.run()
        #expect(harness.readCounter.reads.withLock { $0 } == before + 1, "the held read is made once the outbox drains")
        let written = try await harness.everythingWritten()
        #expect(Frame.payload(of: written).hasPrefix("queued 0"))
    }
}
