import Testing

@testable import ParleyProtocol

@Suite struct NamesAndTimestampTests {
    @Test func roomNames() {
        for valid in ["a", "general", "Room-1_a.b", String(repeating: "z", count: 64)] {
            #expect(Names.isValidRoom(valid), "\(valid)")
        }
        for invalid in ["", "a b", "sala/1", "café", String(repeating: "z", count: 65), "a\n"] {
            #expect(!Names.isValidRoom(invalid), "\(invalid)")
        }
    }

    @Test func displayNames() {
        let family = "👨‍👩‍👧‍👦"
        for valid in ["Ana", "Zoë O'Brien", "李小龍", "👩🏽‍💻 dev", String(repeating: "é", count: 32), family, String(repeating: "😀", count: 32)] {
            #expect(Names.isValidDisplayName(valid), "\(valid)")
        }
        let fat = "a" + String(repeating: "\u{301}", count: 30_000)
        for invalid in [
            "", "  ", "a\u{0}", "tab\t", "new\nline", "bidi\u{202E}", String(repeating: "x", count: 33), fat,
            "a" + String(repeating: "\u{301}", count: 10), String(repeating: "李", count: 32) + "李",
            String(repeating: family, count: 6), "\u{3164}", "\u{3164}\u{3164}", "\u{2800}", "\u{115F}\u{1160}",
            "\u{301}", "\u{FE0F}", "\u{200D}\u{200C}",
        ] {
            #expect(!Names.isValidDisplayName(invalid), "\(invalid.unicodeScalars.count) scalars")
        }
    }

    @Test func displayNamesAreEnforcedAsPRECISNicknames() {
        #expect(Names.displayName(enforcing: "  Ana   Maria \u{3000}") == "Ana Maria")
        #expect(Names.displayName(enforcing: "Zo\u{65}\u{308}") == "Zo\u{EB}")
        #expect(Names.displayName(enforcing: "\u{A0}Bea\u{2003}\u{2003}Lu\u{202F}") == "Bea Lu")
        #expect(Names.displayName(enforcing: "\u{3000}\u{A0} ") == nil)
        // Decomposed, 32 characters take 64 scalars and bytes enough to fail a check made before NFC.
        #expect(Names.displayName(enforcing: String(repeating: "e\u{301}", count: 32)) == String(repeating: "\u{E9}", count: 32))
        #expect(Names.displayName(enforcing: "a" + String(repeating: "\u{301}", count: 30_000)) == nil)
    }

    @Test(arguments: [
        (Int64(0), "1970-01-01T00:00:00.000Z"),
        (951_782_400_123, "2000-02-29T00:00:00.123Z"),
        (1_795_718_563_999, "2026-11-26T18:42:43.999Z"),
        (4_107_542_399_000, "2100-02-28T23:59:59.000Z"),
        (-1, "1969-12-31T23:59:59.999Z"),
    ])
    func timestampsAreRFC3339UTCWithMilliseconds(milliseconds: Int64, expected: String) {
        #expect(Timestamp.rfc3339(millisecondsSinceEpoch: milliseconds) == expected)
    }

    @Test func printableASCIINamesAreEnforcedAsTheUnicodeRulesWould() {
        var generator = SystemRandomNumberGenerator()
        let alphabet = Array(" !\"#$%&'()*+,-./0123456789:;<=>?@ABCXYZ[\\]^_`abcxyz{|}~   ".utf8)
        var samples = [
            "", " ", "   ", "a", " a ", "a  b", String(repeating: "x", count: 32), String(repeating: "x", count: 33),
            " " + String(repeating: "y", count: 32) + " ", String(repeating: "z ", count: 20),
        ]
        for _ in 0..<2_000 {
            let length = Int.random(in: 0...40, using: &generator)
            samples.append(String(decoding: (0..<length).map { _ in alphabet.randomElement(using: &generator)! }, as: UTF8.self))
        }
        for sample in samples {
            #expect(Names.isPrintableASCII(sample))
            #expect(Names.printableASCIIDisplayName(enforcing: sample) == Names.displayNameByUnicodeRules(enforcing: sample), "\(sample)")
        }
        #expect(!Names.isPrintableASCII("tab\there") && !Names.isPrintableASCII("é") && !Names.isPrintableASCII("del\u{7F}"))
    }
}
