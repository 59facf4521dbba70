import NIOCore
import NIOWebSocket
import Testing

@testable import ParleyServer

@Suite struct WebSocketWireTests {
    @Test func theAcceptValueIsTheRFCsExample() {
        #expect(WebSocketWire.acceptValue(forKey: "dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
    }

    @Test func framesOfEveryLengthEncodingParseAndUnmask() throws {
        for size in [0, 5, 125, 126, 65_535, 65_536, 70_000] {
            let payload = (0..<size).map { UInt8(truncatingIfNeeded: $0) }
            var buffer = clientFrame(payload)
            guard case .frame(let frame) = WebSocketWire.parseFrame(from: &buffer, maxPayload: 100_000) else {
                Issue.record("no frame for \(size) bytes")
                continue
            }
            #expect(frame.fin && frame.opcode == .text && frame.maskKey != nil)
            #expect(Array(frame.unmaskedData.readableBytesView) == payload)
            #expect(buffer.readableBytes == 0)
        }
    }

    @Test func aFrameArrivingInPiecesWaitsForItsLastByteAndConsumesNothingMeanwhile() {
        let whole = clientFrame(Array("hello".utf8))
        for cut in 1..<whole.readableBytes {
            var part = whole.getSlice(at: 0, length: cut)!
            guard case .needMoreBytes = WebSocketWire.parseFrame(from: &part, maxPayload: 1000) else {
                Issue.record("parsed a frame from \(cut) of \(whole.readableBytes) bytes")
                continue
            }
            #expect(part.readableBytes == cut)
        }
    }

    @Test func aPayloadOverTheLimitIsRefusedFromItsHeaderAlone() {
        var header = ByteBuffer(bytes: [0x81, 0x80 | 127])
        header.writeInteger(UInt64(1) << 40)
        guard case .tooLarge = WebSocketWire.parseFrame(from: &header, maxPayload: 65_536) else {
            Issue.record("a 1 TiB frame was not refused")
            return
        }
        var justOver = clientFrame(Array(repeating: 0x20, count: 1001))
        guard case .tooLarge = WebSocketWire.parseFrame(from: &justOver, maxPayload: 1000) else {
            Issue.record("1,001 bytes passed a 1,000-byte limit")
            return
        }
    }

    @Test func twoFramesInOneReadComeOutInOrder() {
        var buffer = clientFrame(Array("one".utf8))
        var second = clientFrame(Array("two".utf8), opcode: 0x9)
        buffer.writeBuffer(&second)
        var texts: [String] = []
        while case .frame(let frame) = WebSocketWire.parseFrame(from: &buffer, maxPayload: 1000) {
            texts.append("\(frame.opcode == .ping ? "ping" : "text"):\(String(buffer: frame.unmaskedData))")
        }
        #expect(texts == ["text:one", "ping:two"])
    }

    @Test func aClientStreamingAcrossReadBoundariesHoldsOneReadAndOneFrameNotEverythingItSent() {
        var stream = ByteBuffer()
        for _ in 0..<4_000 {
            var frame = clientFrame(Array(repeating: 0x61, count: 1_000))
            stream.writeBuffer(&frame)
        }
        var reader = WebSocketWire.FrameReader(maxPayload: 65_536)
        var frames = 0
        var mostHeld = 0
        let readSize = 4_096
        while stream.readableBytes > 0 {
            let read = stream.readSlice(length: min(readSize, stream.readableBytes))!
            #expect(
                reader.read(read) { _ in
                    frames += 1
                    return true
                }
            )
            mostHeld = max(mostHeld, reader.heldCapacity)
        }
        #expect(frames == 4_000)
        #expect(mostHeld <= 4 * readSize, "held \(mostHeld) bytes after 4 MB in reads of \(readSize)")
    }

    @Test func theReaderKeepsAFramesStartForTheNextReadWhereverTheReadsSplit() {
        var stream = clientFrame(Array("one".utf8))
        var second = clientFrame(Array(repeating: 0x61, count: 300))
        stream.writeBuffer(&second)
        for cut in 1..<stream.readableBytes {
            var reader = WebSocketWire.FrameReader(maxPayload: 1000)
            var payloads: [Int] = []
            for part in [stream.getSlice(at: 0, length: cut)!, stream.getSlice(at: cut, length: stream.readableBytes - cut)!] {
                #expect(
                    reader.read(part) { frame in
                        payloads.append(frame.length)
                        return true
                    }
                )
            }
            #expect(payloads == [3, 300], "split at byte \(cut)")
        }
    }

    @Test func theReaderStopsAtAFrameOverItsLimit() {
        var reader = WebSocketWire.FrameReader(maxPayload: 10)
        var seen = 0
        #expect(
            !reader.read(clientFrame(Array(repeating: 0x61, count: 11))) { _ in
                seen += 1
                return true
            }
        )
        #expect(seen == 0)
    }
}
