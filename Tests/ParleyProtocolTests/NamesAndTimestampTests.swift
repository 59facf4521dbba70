import ParleyProtocol
import Testing

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
        for valid in ["Ana", "Zoë O'Brien", "李小龍", "👩🏽‍💻 dev", String(repeating: "é", count: 32), " Ana "] {
            #expect(Names.isValidDisplayName(valid), "\(valid)")
        }
        for invalid in ["", "  ", "a\u{0}", "tab\t", "new\nline", "bidi\u{202E}", String(repeating: "x", count: 33)] {
            #expect(!Names.isValidDisplayName(invalid), "\(invalid.debugDescription)")
        }
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
}
