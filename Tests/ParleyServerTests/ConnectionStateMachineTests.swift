import NIOCore
import NIOWebSocket
import ParleyCore
import ParleyProtocol
import Testing

@testable import ParleyServer

/// Every rule of RFC 6455 the server enforces, and the close handshake, heartbeat and back-pressure, on the state
/// machine alone: bytes in, actions out, time from a manual clock.
@Suite struct ConnectionStateMachineTests {
    typealias Machine = ConnectionStateMachine<ManualClock>
    typealias Action = Machine.ReadAction

    private func machine(maxMessageBytes: Int = 1000) -> Machine {
        Machine(maxMessageBytes: maxMessageBytes)
    }

    /// What reading `frames` (one read each) makes the machine do.
    private func actions(_ machine: inout Machine, _ frames: ByteBuffer...) -> [Action] {
        var actions: [Action] = []
        for frame in frames { machine.read(frame) { actions.append($0) } }
        return actions
    }

    /// The close frame a violation is answered with.
    private func violation(_ code: WebSocketErrorCode, _ reason: String) -> Action {
        .closeAfterWriting(Frame.close(code: UInt16(webSocketErrorCode: code), reason: reason), violation: true)
    }

    // MARK: Messages

    @Test func textAndBinaryMessagesAreDelivered() {
        var machine = machine()
        #expect(actions(&machine, clientText("oi"), clientFrame([1, 2], opcode: 0x2)) == [.deliver(.text("oi")), .deliver(.binary)])
    }

    @Test func aFrameArrivingByteByByteIsDeliveredOnceWhole() {
        var machine = machine()
        let whole = clientText("hello")
        var delivered: [Action] = []
        for index in 0..<whole.readableBytes {
            machine.read(whole.getSlice(at: index, length: 1)!) { delivered.append($0) }
        }
        #expect(delivered == [.deliver(.text("hello"))])
    }

    @Test func fragmentsAreReassembledWithControlFramesAnsweredBetweenThem() {
        var machine = machine()
        let read = actions(
            &machine,
            clientText("one ", fin: false),
            clientFrame(Array("p".utf8), opcode: 0x9),
            clientText("two ", fin: false, opcode: 0x0),
            clientText("three", opcode: 0x0)
        )
        #expect(read == [.answerPing(payload: ByteBuffer(string: "p")), .deliver(.text("one two three"))])
    }

    @Test func aCharacterSplitAcrossFragmentsIsWholeInTheMessage() {
        var machine = machine()
        let bytes = Array("é!".utf8)  // é is two bytes: the first fragment ends inside it
        let read = actions(
            &machine,
            clientFrame(Array(bytes[..<1]), fin: false),
            clientFrame(Array(bytes[1...]), opcode: 0x0)
        )
        #expect(read == [.deliver(.text("é!"))])
    }

    @Test func textThatIsNotUTF8EndsTheConnectionWith1007AndNothingMoreIsRead() {
        var machine = machine()
        let read = actions(&machine, clientFrame([0xC3, 0x28]), clientText("after"))
        #expect(read == [violation(.dataInconsistentWithMessage, "text frames must be UTF-8")])
    }

    // MARK: Violations

    @Test func everyBreachOfFramingIsAnsweredWith1002() {
        let cases: [(ByteBuffer, String)] = [
            (clientFrame(Array("x".utf8), masked: false), "client frames must be masked"),
            (clientFrame(Array("x".utf8), reservedBits: 0b100), "reserved bits are set but no extension was negotiated"),
            (clientFrame(Array("x".utf8), reservedBits: 0b001), "reserved bits are set but no extension was negotiated"),
            (clientFrame([], opcode: 0x3), "opcode \(WebSocketOpcode(encodedWebSocketOpcode: 0x3)!) is reserved"),
            (clientFrame([], opcode: 0xB), "opcode \(WebSocketOpcode(encodedWebSocketOpcode: 0xB)!) is reserved"),
            (clientFrame([], opcode: 0x9, fin: false), "control frames cannot be fragmented"),
            (clientFrame(Array(repeating: 0, count: 126), opcode: 0x9), "control frames carry at most 125 bytes"),
            (clientText("lost", opcode: 0x0), "a continuation frame with no message to continue"),
        ]
        for (frame, reason) in cases {
            var machine = machine()
            #expect(actions(&machine, frame, clientText("after")) == [violation(.protocolError, reason)], "\(reason)")
        }
    }

    @Test func aNewMessageInsideAFragmentedOneIsAViolation() {
        var machine = machine()
        let read = actions(&machine, clientText("one", fin: false), clientText("two"))
        #expect(read == [violation(.protocolError, "a new message began inside a fragmented one")])
    }

    @Test func aFrameOrAReassembledMessageOverTheLimitIsAnsweredWith1009() {
        var single = machine(maxMessageBytes: 10)
        #expect(actions(&single, clientText(String(repeating: "a", count: 11))) == [violation(.messageTooLarge, "frame over 10 bytes")])
        var fragmented = machine(maxMessageBytes: 10)
        let read = actions(&fragmented, clientText("123456", fin: false), clientText("789012", opcode: 0x0))
        #expect(read == [violation(.messageTooLarge, "message over 10 bytes")])
    }

    // MARK: Closing

    @Test func theClientsCloseIsEchoedAndEndsTheConnection() {
        var machine = machine()
        #expect(
            actions(&machine, clientClose(1000, reason: "bye"), clientText("after")) == [
                .closeAfterWriting(Frame.close(code: 1000), violation: false)
            ]
        )
        var empty = self.machine()
        #expect(actions(&empty, clientClose(nil)) == [.closeAfterWriting(Frame.close(code: nil), violation: false)])
    }

    @Test func aCloseFrameTheClientMayNotSendIsAViolation() {
        let cases: [(ByteBuffer, Action)] = [
            (clientClose(1005), violation(.protocolError, "close code 1005 is not allowed")),
            (clientClose(999), violation(.protocolError, "close code 999 is not allowed")),
            (clientFrame([0x03], opcode: 0x8), violation(.protocolError, "a close frame cannot carry one byte")),
            (clientFrame([0x03, 0xE8, 0xC3, 0x28], opcode: 0x8), violation(.dataInconsistentWithMessage, "a close reason must be UTF-8")),
        ]
        for (frame, expected) in cases {
            var machine = machine()
            #expect(actions(&machine, frame) == [expected])
        }
        #expect(Machine.isValidCloseCode(4001) && Machine.isValidCloseCode(1000) && !Machine.isValidCloseCode(1015))
    }

    @Test func afterTheServersCloseOnlyTheClientsCloseMatters() {
        var machine = machine()
        let close = machine.outboxClosing(.slowConsumer, reason: "too slow")
        #expect(close == Frame.close(code: 4008, reason: "too slow"))
        #expect(machine.isWriterStopped)
        let read = actions(
            &machine,
            clientText("ignored"),
            clientFrame(Array("p".utf8), opcode: 0x9),
            clientClose(1000),
            clientText("after")
        )
        #expect(read == [.closeConnection])
        let secondClose = machine.outboxClosing(.goingAway, reason: "again")
        #expect(secondClose == nil)
    }

    @Test func aCloseWrittenAndAnsweredInTimeNeedsNoDeadline() {
        let clock = ManualClock()
        var machine = machine()
        let deadline = machine.closeRequested(now: clock.now)
        #expect(deadline == clock.now.advanced(by: .seconds(2)))
        let secondDeadline = machine.closeRequested(now: clock.now)
        #expect(secondDeadline == nil, "one deadline at a time")
        _ = machine.outboxClosing(.goingAway, reason: "shutting down")
        machine.closeFrameWritten()
        clock.advance(by: .seconds(1))
        let early = machine.deadlineReached(now: clock.now)
        #expect(early == .wait(until: deadline!), "a timer that fires early waits on")
        #expect(actions(&machine, clientClose(1001)) == [.closeConnection])
    }

    @Test func aCloseFrameNeverAnsweredDropsTheConnectionTwoTimeoutsLater() {
        let clock = ManualClock()
        var machine = machine()
        _ = machine.closeRequested(now: clock.now)
        _ = machine.outboxClosing(.slowConsumer, reason: "slow")
        machine.closeFrameWritten()
        clock.advance(by: .seconds(2))
        let answerBy = clock.now.advanced(by: .seconds(2))
        let written = machine.deadlineReached(now: clock.now)
        #expect(written == .wait(until: answerBy))
        clock.advance(by: .seconds(2))
        let unanswered = machine.deadlineReached(now: clock.now)
        #expect(unanswered == .closeConnection)
    }

    @Test func aCloseFrameNeverWrittenDropsTheConnectionAfterOneTimeout() {
        let clock = ManualClock()
        var machine = machine()
        _ = machine.closeRequested(now: clock.now)
        _ = machine.outboxClosing(.slowConsumer, reason: "slow")
        clock.advance(by: .seconds(2))
        let unwritten = machine.deadlineReached(now: clock.now)
        #expect(unwritten == .closeConnection)
        var idle = self.machine()
        let noDeadline = idle.deadlineReached(now: clock.now)
        #expect(noDeadline == .none)
    }

    @Test func aViolationWhileClosingSendsNoSecondCloseAndTheDeadlineEndsIt() {
        let clock = ManualClock()
        var machine = machine()
        _ = machine.closeRequested(now: clock.now)
        _ = machine.outboxClosing(.goingAway, reason: "bye")
        machine.closeFrameWritten()
        #expect(actions(&machine, clientFrame([0xC3, 0x28]), clientFrame([], masked: false), clientClose(1000)).isEmpty)
        clock.advance(by: .seconds(2))
        let ended = machine.deadlineReached(now: clock.now)
        #expect(ended == .closeConnection)
    }

    // MARK: Heartbeat

    @Test func onlyAPongEchoingTheOutstandingPingAnswersIt() {
        var machine = machine()
        func pong(_ payload: UInt64) -> ByteBuffer {
            withUnsafeBytes(of: payload.bigEndian) { clientFrame(Array($0), opcode: 0xA) }
        }
        #expect(actions(&machine, pong(7)).isEmpty, "an unsolicited pong is ignored")
        machine.pingSent(sequence: 1, payload: 0xABCD)
        _ = actions(&machine, pong(7), clientFrame(Array("short".utf8), opcode: 0xA))
        #expect(machine.isPingUnanswered(1), "a pong echoing something else proves nothing")
        _ = actions(&machine, pong(0xABCD))
        #expect(!machine.isPingUnanswered(1))
        machine.pingSent(sequence: 2, payload: 0x1234)
        #expect(machine.isPingUnanswered(2) && !machine.isPingUnanswered(1))
        _ = actions(&machine, pong(0xABCD))
        #expect(machine.isPingUnanswered(2), "the previous ping's pong does not answer the next one")
    }

    // MARK: Back-pressure

    @Test func aReadWithoutRoomIsHeldBackUntilRoomIsFreed() {
        var machine = machine()
        let reads = [
            machine.readRequested(hasRoom: true),
            machine.roomFreed(hasRoom: true),  // nothing was held back
            machine.readRequested(hasRoom: false),
            machine.roomFreed(hasRoom: false),
            machine.roomFreed(hasRoom: true),
            machine.roomFreed(hasRoom: true),  // the held read is made once
        ]
        #expect(reads == [true, false, false, false, true, false])
    }
}
