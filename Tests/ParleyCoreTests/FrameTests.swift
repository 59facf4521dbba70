import NIOCore
import ParleyCore
import ParleyProtocol
import Testing

/// Frames are complete, unmasked WebSocket text frames (RFC 6455 §5.2), written as they are to every receiver.
@Suite struct FrameTests {
    private func header(_ frame: ByteBuffer) -> [UInt8] {
        Array(frame.readableBytesView.prefix(10))
    }

    @Test(arguments: [0, 1, 125, 126, 65_535, 65_536, 200_000])
    func theLengthTakesTheShortestFormAndThePayloadFollows(length: Int) {
        let text = String(repeating: "é", count: length / 2) + String(repeating: "x", count: length % 2)
        let frame = Frame.text(text)
        let bytes = Array(frame.readableBytesView)
        #expect(bytes[0] == 0x81, "FIN and the text opcode")
        let headerLength: Int
        switch length {
        case ..<126:
            #expect(Int(bytes[1]) == length)
            headerLength = 2
        case ...65_535:
            #expect(bytes[1] == 126)
            #expect(Int(bytes[2]) << 8 | Int(bytes[3]) == length)
            headerLength = 4
        default:
            #expect(bytes[1] == 127)
            #expect(bytes[2...9].reduce(0) { $0 << 8 | Int($1) } == length)
            headerLength = 10
        }
        #expect(bytes.count == headerLength + length)
        #expect(Frame.payload(of: frame) == text)
    }

    @Test func eventsAreFramedJSON() throws {
        let frame = Frame.encode(.pong(ref: "7"))
        #expect(try ServerEvent.decode(Frame.payload(of: frame)) == .pong(ref: "7"))
        #expect(header(frame).first == 0x81)
    }
}
