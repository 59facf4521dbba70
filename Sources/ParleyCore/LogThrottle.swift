import Logging
import Synchronization

/// Keeps what clients control from flooding the log: at most ``linesPerWindow`` lines per kind of event per
/// ``window``; the next line logged after a quiet spell says how many were left out.
package final class LogThrottle: Sendable {
    /// Lines of one kind logged per window at most.
    package static let linesPerWindow = 10
    /// The window.
    package static let window: Duration = .seconds(60)

    private let logger: Logger
    private let kinds = Mutex<[String: (started: ContinuousClock.Instant, logged: Int, left: Int)]>([:])

    /// Logs to `logger`.
    package init(logger: Logger) {
        self.logger = logger
    }

    /// Logs a warning unless ``linesPerWindow`` lines of the same `message` were logged within the window.
    package func warning(_ message: String, metadata: Logger.Metadata) {
        log(.warning, message, metadata: metadata)
    }

    /// Logs an error unless ``linesPerWindow`` lines of the same `message` were logged within the window.
    package func error(_ message: String, metadata: Logger.Metadata) {
        log(.error, message, metadata: metadata)
    }

    private func log(_ level: Logger.Level, _ message: String, metadata: Logger.Metadata) {
        let now = ContinuousClock.now
        let leftOut = kinds.withLock { kinds -> Int? in
            var kind = kinds[message] ?? (now, 0, 0)
            if now - kind.started >= Self.window { kind = (now, 0, kind.left) }
            let leftOut: Int?
            if kind.logged < Self.linesPerWindow {
                kind.logged += 1
                leftOut = kind.left
                kind.left = 0
            } else {
                kind.left += 1
                leftOut = nil
            }
            kinds[message] = kind
            return leftOut
        }
        guard let leftOut else { return }
        var metadata = metadata
        if leftOut > 0 { metadata["left out"] = "\(leftOut) more since the last line" }
        logger.log(level: level, "\(message)", metadata: metadata)
    }

    /// A value a client sent, fit for a log line: characters outside printable ASCII escaped as `\u{…}` (no terminal
    /// control sequences, no bidirectional overrides) and at most 100 characters of the result kept.
    package static func clientValue(_ value: String) -> String {
        let limit = 100
        var shown = ""
        for scalar in value.unicodeScalars {
            let piece =
                scalar.isASCII && scalar.value >= 0x20 && scalar.value < 0x7F && scalar != "\\"
                ? String(scalar) : "\\u{\(String(scalar.value, radix: 16))}"
            guard shown.count + piece.count <= limit else {
                return shown + "… (\(value.utf8.count) bytes)"
            }
            shown += piece
        }
        return shown
    }
}
