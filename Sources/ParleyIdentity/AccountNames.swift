import Foundation
import ParleyProtocol

/// The naming rules of accounts.
package enum AccountNames {
    /// The login name as stored: lower-cased, 1–32 of `a-z 0-9 _ . -`; `nil` when it breaks the rule.
    package static func login(_ requested: String) -> String? {
        let login = requested.lowercased()
        guard (1...32).contains(login.utf8.count) else { return nil }
        let allowed = login.utf8.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"),
                UInt8(ascii: "."), UInt8(ascii: "-"):
                true
            default:
                false
            }
        }
        return allowed ? login : nil
    }

    /// A name as guests are compared with accounts: Unicode NFKC, then case folding (so `ＡＮＡ`, `Ana` and `ana`
    /// are one name, and `Straße` is `strasse`).
    package static func folded(_ name: String) -> String {
        // ASCII is its own NFKC, and its case folding is lower-casing.
        name.utf8.allSatisfy({ $0 < 0x80 }) ? name.lowercased() : foldedByUnicodeRules(name)
    }

    /// ``folded(_:)`` for any name.
    static func foldedByUnicodeRules(_ name: String) -> String {
        name.precomposedStringWithCompatibilityMapping.folding(options: [.caseInsensitive], locale: nil)
            .precomposedStringWithCompatibilityMapping
    }
}
