import NIOCore

/// A client frame as a browser sends it: FIN, reserved bits and the opcode, the mask bit and length, the key, the
/// masked payload. Every part can be got wrong on purpose.
func clientFrame(
    _ payload: [UInt8],
    opcode: UInt8 = 0x1,
    fin: Bool = true,
    reservedBits: UInt8 = 0,
    masked: Bool = true,
    key: [UInt8] = [1, 2, 3, 4]
) -> ByteBuffer {
    var frame = ByteBuffer()
    frame.writeInteger((fin ? 0x80 : 0) | (reservedBits << 4) | opcode)
    let maskBit: UInt8 = masked ? 0x80 : 0
    switch payload.count {
    case ..<126: frame.writeInteger(maskBit | UInt8(payload.count))
    case ...0xFFFF:
        frame.writeInteger(maskBit | 126)
        frame.writeInteger(UInt16(payload.count))
    default:
        frame.writeInteger(maskBit | 127)
        frame.writeInteger(UInt64(payload.count))
    }
    guard masked else {
        frame.writeBytes(payload)
        return frame
    }
    frame.writeBytes(key)
    frame.writeBytes(payload.enumerated().map { $0.element ^ key[$0.offset % 4] })
    return frame
}

/// A client's text frame.
func clientText(_ text: String, fin: Bool = true, opcode: UInt8 = 0x1) -> ByteBuffer {
    clientFrame(Array(text.utf8), opcode: opcode, fin: fin)
}

/// A client's close frame with a status code and a reason, or an empty one.
func clientClose(_ code: UInt16?, reason: String = "") -> ByteBuffer {
    clientFrame(code.map { [UInt8($0 >> 8), UInt8($0 & 0xFF)] + Array(reason.utf8) } ?? [], opcode: 0x8)
}
