import Foundation

/// The naming rules of parley.v1.
public enum Names {
    /// Whether `id` may identify a message or a user given by a client: 1–128 bytes of UTF-8 without U+0000.
    public static func isValidClientID(_ id: String) -> Bool {
        (1...128).contains(id.utf8.count) && !id.utf8.contains(0)
    }

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

    /// The most characters (grapheme clusters) a display name may have.
    public static let maxDisplayNameCharacters = 32
    /// The most UTF-8 bytes a display name may take: a name is sent in every message, presence event and member
    /// list, so its size is bounded, not only its length as people read it.
    public static let maxDisplayNameBytes = 128
    /// The most Unicode scalars one character of a display name may combine (the longest emoji sequences take 10;
    /// a letter buried under thousands of combining accents is still one character).
    public static let maxScalarsPerCharacter = 10

    /// Applies the PRECIS nickname profile (RFC 8266 §2.2) to a requested display name and checks the result:
    /// every space character becomes U+0020, spaces at either end are removed and runs of them become one, and the
    /// name is put in Unicode Normalization Form C.
    /// - Returns: The name as it is to be shown and compared, or `nil` when it breaks
    ///   ``isValidDisplayName(_:)`` after enforcement.
    public static func displayName(enforcing requested: String) -> String? {
        // Anything this long cannot shrink to a valid name (mapping only removes spaces and NFC only composes):
        // refused before any work proportional to its size.
        guard requested.utf8.count <= 4 * maxDisplayNameBytes else { return nil }
        return isPrintableASCII(requested)
            ? printableASCIIDisplayName(enforcing: requested) : displayNameByUnicodeRules(enforcing: requested)
    }

    /// Whether `text` is only printable ASCII (U+0020 to U+007E).
    static func isPrintableASCII(_ text: String) -> Bool {
        text.utf8.allSatisfy { (0x20...0x7E).contains($0) }
    }

    /// ``displayName(enforcing:)`` for a name of printable ASCII, the usual case, without Unicode property lookups
    /// or normalization (ASCII is its own NFC, every printable character but the space shows, and each is one
    /// character): the spaces mapped, then 1–32 characters.
    static func printableASCIIDisplayName(enforcing requested: String) -> String? {
        let bytes = requested.utf8
        var mapped: [UInt8] = []
        mapped.reserveCapacity(bytes.count)
        var spacePending = false
        for byte in bytes {
            if byte == UInt8(ascii: " ") {
                spacePending = !mapped.isEmpty
                continue
            }
            if spacePending {
                mapped.append(UInt8(ascii: " "))
                spacePending = false
            }
            mapped.append(byte)
        }
        guard (1...maxDisplayNameCharacters).contains(mapped.count) else { return nil }
        return String(decoding: mapped, as: UTF8.self)
    }

    /// ``displayName(enforcing:)`` for any name.
    static func displayNameByUnicodeRules(enforcing requested: String) -> String? {
        var mapped = String.UnicodeScalarView()
        var spacePending = false
        for scalar in requested.unicodeScalars {
            if scalar.properties.generalCategory == .spaceSeparator {
                spacePending = !mapped.isEmpty
                continue
            }
            if spacePending {
                mapped.append(" ")
                spacePending = false
            }
            mapped.append(scalar)
        }
        let name = String(mapped).precomposedStringWithCanonicalMapping
        return isValidDisplayName(name) ? name : nil
    }

    /// Whether `name` is a valid display name as enforced by ``displayName(enforcing:)``: 1–32 characters
    /// (grapheme clusters) in at most 128 UTF-8 bytes, at most 10 scalars per character, no control, format,
    /// private-use or unassigned code points (except the joiners emoji and some scripts need, U+200C and U+200D),
    /// and at least one character that shows: a name of only spaces, fillers or default-ignorable code points
    /// is refused. Bidirectional overrides are format characters and so refused.
    public static func isValidDisplayName(_ name: String) -> Bool {
        guard name.utf8.count <= maxDisplayNameBytes, (1...maxDisplayNameCharacters).contains(name.count) else {
            return false
        }
        guard name.allSatisfy({ $0.unicodeScalars.count <= maxScalarsPerCharacter }) else { return false }
        var hasVisible = false
        for scalar in name.unicodeScalars {
            if scalar == "\u{200C}" || scalar == "\u{200D}" { continue }
            switch scalar.properties.generalCategory {
            case .control, .format, .lineSeparator, .paragraphSeparator, .surrogate, .privateUse, .unassigned:
                return false
            case .spaceSeparator, .nonspacingMark, .enclosingMark:
                continue
            default:
                if !isInvisible(scalar) { hasVisible = true }
            }
        }
        return hasVisible
    }

    /// Letters and symbols that draw nothing: default-ignorable code points (the Hangul fillers among them) and the
    /// blank Braille pattern, favourites for names that look empty.
    private static func isInvisible(_ scalar: Unicode.Scalar) -> Bool {
        scalar.properties.isDefaultIgnorableCodePoint || scalar == "\u{2800}"
    }
}
