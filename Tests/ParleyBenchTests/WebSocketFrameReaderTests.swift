import NIOCore
import Testing

@testable import ParleyBench

@Suite struct WebSocketFrameReaderTests {
    /// An unmasked frame as a server sends it, with the shortest length encoding RFC 6455 allows.
    private static func frame(_ opcode: UInt8, _ payload: String, final: Bool = true) -> [UInt8] {
        let bytes = Array(payload.utf8)
        var header: [UInt8] = [(final ? 0x80 : 0) | opcode]
        switch bytes.count {
        case ..<126: header.append(UInt8(bytes.count))
        case ..<65536: header += [126, UInt8(bytes.count >> 8), UInt8(bytes.count & 0xFF)]
        default: header += [127] + (0..<8).reversed().map { UInt8((bytes.count >> ($0 * 8)) & 0xFF) }
        }
        return header + bytes
    }

    private static func read(
        _ chunks: [[UInt8]],
        maxFrameSize: Int = 1 << 20,
        maxMessageSize: Int = 1 << 24
    ) throws(WebSocketFrameReader.ProtocolViolation) -> [WebSocketFrameReader.Message] {
        var reader = WebSocketFrameReader(maxFrameSize: maxFrameSize, maxMessageSize: maxMessageSize)
        var messages: [WebSocketFrameReader.Message] = []
        for chunk in chunks { try reader.read(ByteBuffer(bytes: chunk)) { messages.append($0) } }
        return messages
    }

    @Test func wholeFramesInOneReadAreEachAMessageInOrder() throws {
        let bytes = Self.frame(0x1, "a") + Self.frame(0x9, "p") + Self.frame(0x2, "bc") + Self.frame(0x8, "")
        #expect(
            try Self.read([bytes]) == [
                .text(ByteBuffer(string: "a")), .ping(ByteBuffer(string: "p")), .binary(ByteBuffer(string: "bc")),
                .close(ByteBuffer()),
            ]
        )
    }

    @Test func theLengthsOfEveryEncodingAreReadExactly() throws {
        #expect(Self.frame(0x1, String(repeating: "x", count: 300)).prefix(4) == [0x81, 126, 0x01, 0x2C])
        #expect(Self.frame(0x1, String(repeating: "x", count: 70_000)).prefix(10) == [0x81, 127, 0, 0, 0, 0, 0, 0x01, 0x11, 0x70])
        for length in [0, 125, 126, 300, 65535, 65536, 70_000] {
            let payload = String(repeating: "y", count: length)
            #expect(
                try Self.read([Self.frame(0x1, payload) + Self.frame(0x1, "next")]) == [
                    .text(ByteBuffer(string: payload)), .text(ByteBuffer(string: "next")),
                ]
            )
        }
    }

    @Test(arguments: [1, 2, 3, 7, 64, 1000])
    func framesSplitAnywhereAcrossReadsWaitForTheirRest(chunkSize: Int) throws {
        let payloads = ["short", String(repeating: "m", count: 300), String(repeating: "l", count: 70_000), ""]
        let bytes = payloads.flatMap { Self.frame(0x1, $0) }
        let chunks = stride(from: 0, to: bytes.count, by: chunkSize).map { Array(bytes[$0..<min($0 + chunkSize, bytes.count)]) }
        #expect(try Self.read(chunks) == payloads.map { .text(ByteBuffer(string: $0)) })
    }

    @Test func fragmentsAreJoinedIntoOneMessageAroundControlFrames() throws {
        let bytes =
            Self.frame(0x1, "ab", final: false) + Self.frame(0x9, "ping") + Self.frame(0x0, "cd", final: false)
            + Self.frame(0x0, "e") + Self.frame(0x2, "f", final: false) + Self.frame(0x0, "g")
        #expect(
            try Self.read([bytes]) == [
                .ping(ByteBuffer(string: "ping")), .text(ByteBuffer(string: "abcde")), .binary(ByteBuffer(string: "fg")),
            ]
        )
    }

    static let violations: [(bytes: [UInt8], description: String)] = [
        ([0x81, 0x81, 1, 2, 3, 4, 0x61], "a server's frame is masked"),
        ([0xC1, 0x01, 0x61], "a frame has reserved bits set"),
        ([0x83, 0x00], "a frame has the unknown opcode 3"),
        ([0x81, 126, 0x00, 0xC9], "a frame of 201 bytes is over the limit of 200"),
        ([0x81, 127, 0x80, 0, 0, 0, 0, 0, 0, 0], "a frame of 9223372036854775808 bytes is over the limit of 200"),
        (frame(0x1, "abc", final: false) + frame(0x0, "de"), "a fragmented message is over the limit of 4 bytes"),
        (frame(0x9, "", final: false), "a control frame is fragmented or longer than 125 bytes"),
        ([0x89, 126, 0, 126] + [UInt8](repeating: 0x61, count: 126), "a control frame is fragmented or longer than 125 bytes"),
        (frame(0x0, "x"), "a continuation frame continues no message"),
        (frame(0x1, "a", final: false) + frame(0x1, "b"), "a message began before the last one's final fragment"),
    ]

    /// Limits small enough for short cases: frames up to 200 bytes (a 126-byte control frame is within it), messages
    /// up to 4.
    @Test(arguments: violations)
    func whatAServerMustNotSendIsAViolation(bytes: [UInt8], description: String) {
        #expect(throws: WebSocketFrameReader.ProtocolViolation(description: description)) {
            try Self.read([bytes], maxFrameSize: 200, maxMessageSize: 4)
        }
    }
}
