import Foundation
import Logging
import ParleyProtocol

/// A swift-log handler writing one JSON object per line to standard error, for log shippers:
/// `{"ts":"2026-11-26T18:42:43.123Z","level":"warning","label":"parley","message":"…","origin":"…"}`.
public struct JSONLogHandler: LogHandler {
    public var logLevel: Logger.Level = .info
    public var metadata: Logger.Metadata = [:]
    private let label: String
    private let write: @Sendable (String) -> Void

    /// Creates a handler for `label` writing lines with `write` (standard error by default).
    public init(label: String, write: @escaping @Sendable (String) -> Void = JSONLogHandler.writeToStandardError) {
        self.label = label
        self.write = write
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var fields: [String: JSONValue] = [:]
        for (key, value) in metadata.merging(event.metadata ?? [:], uniquingKeysWith: { $1 }) {
            fields[key] = JSONValue(value)
        }
        fields["ts"] = .string(Timestamp.rfc3339(millisecondsSinceEpoch: Int64(Date().timeIntervalSince1970 * 1000)))
        fields["level"] = .string(event.level.rawValue)
        fields["label"] = .string(label)
        fields["message"] = .string(event.message.description)
        fields["source"] = .string(event.source)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(fields) else { return }
        write(String(decoding: data, as: UTF8.self) + "\n")
    }

    /// Writes a line to standard error in one call, so lines from several threads do not interleave.
    @Sendable
    public static func writeToStandardError(_ line: String) {
        FileHandle.standardError.write(Data(line.utf8))
    }
}

/// Log metadata as JSON.
private enum JSONValue: Encodable {
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    init(_ value: Logger.Metadata.Value) {
        switch value {
        case .string(let string): self = .string(string)
        case .stringConvertible(let convertible): self = .string(convertible.description)
        case .array(let values): self = .array(values.map(JSONValue.init))
        case .dictionary(let values): self = .object(values.mapValues(JSONValue.init))
        }
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .string(let string): try container.encode(string)
        case .array(let values): try container.encode(values)
        case .object(let values): try container.encode(values)
        }
    }
}
