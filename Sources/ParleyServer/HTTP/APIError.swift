import Foundation

/// The body of every HTTP error Parley answers: `{"error":{"code":"…","message":"a sentence saying what to fix"}}`.
struct APIError: Encodable, Sendable {
    struct Detail: Encodable, Sendable {
        var code: String
        var message: String
    }

    var error: Detail

    init(_ code: String, _ message: String) {
        error = Detail(code: code, message: message)
    }

    /// The body as JSON.
    var json: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Two strings: encoding cannot fail.
        return String(decoding: try! encoder.encode(self), as: UTF8.self)
    }
}
