#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A command's `ref`: the client's correlation value, echoed in the reply as it was sent, a string or a number.
public struct Ref: Sendable, Hashable, Codable, ExpressibleByStringLiteral, CustomStringConvertible {
    private enum Value: Sendable, Hashable {
        case string(String)
        case number(Decimal)
    }

    private let value: Value

    /// A string ref.
    public init(_ string: String) {
        value = .string(string)
    }

    /// A numeric ref.
    public init(number: Decimal) {
        value = .number(number)
    }

    public init(stringLiteral string: String) {
        self.init(string)
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let string = try? container.decode(String.self) {
            value = .string(string)
        } else {
            value = .number(try container.decode(Decimal.self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch value {
        case .string(let string): try container.encode(string)
        case .number(let number): try container.encode(number)
        }
    }

    /// The ref's text when it is a string.
    var string: String? {
        if case .string(let string) = value { string } else { nil }
    }

    public var description: String {
        switch value {
        case .string(let string): string
        case .number(let number): "\(number)"
        }
    }
}
