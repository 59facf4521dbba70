/// The naming rules of parley.v1.
public enum Names {
    /// Whether `name` is a valid room name: 1–64 characters of ASCII letters, digits, `-`, `_`, `.`.
    public static func isValidRoom(_ name: String) -> Bool {
        let bytes = name.utf8
        guard (1...64).contains(bytes.count) else { return false }
        return bytes.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."):
                return true
            default:
                return false
            }
        }
    }

    /// Whether `name` is a valid display name: 1–32 printable characters (grapheme clusters), not only white
    /// space, with no control, format or unassigned code points, except the joiners that emoji and some scripts
    /// need (U+200C, U+200D). Bidirectional overrides are format characters and so refused.
    public static func isValidDisplayName(_ name: String) -> Bool {
        guard (1...32).contains(name.count) else { return false }
        var hasVisible = false
        for scalar in name.unicodeScalars {
            if scalar == "\u{200C}" || scalar == "\u{200D}" { continue }
            switch scalar.properties.generalCategory {
            case .control, .format, .lineSeparator, .paragraphSeparator, .surrogate, .privateUse, .unassigned:
                return false
            case .spaceSeparator:
                continue
            default:
                hasVisible = true
            }
        }
        return hasVisible
    }
}
