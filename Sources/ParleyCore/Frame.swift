import NIOCore
import ParleyProtocol

/// Encodes server events into frames ready to write.
public enum Frame {
    /// The event as one text frame's bytes.
    public static func encode(_ event: ServerEvent) -> ByteBuffer {
        ByteBuffer(bytes: event.jsonBytes())
    }
}
