import NIOCore
import ParleyProtocol

/// One client connection as the hub sees it: who it is to fan-out, and the outbox its frames go to.
public final class Connection: Sendable {
    /// How a connection speaks.
    public enum Mode: Sendable {
        /// parley.v1 JSON.
        case parley
        /// The tutorial's plain text, in the plain-mode room.
        case plain
    }

    /// Unique within the process.
    public let id: UInt64
    /// How it speaks.
    public let mode: Mode
    /// How its transport frames what it is sent.
    public let format: FrameFormat
    /// Where frames for it are queued.
    public let outbox: Outbox

    init(id: UInt64, mode: Mode, format: FrameFormat, outbox: Outbox) {
        self.id = id
        self.mode = mode
        self.format = format
        self.outbox = outbox
    }
}
