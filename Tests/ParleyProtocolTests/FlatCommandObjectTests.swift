import Testing

@testable import ParleyProtocol

/// Commands read without `JSONDecoder` (``FlatCommandObject``) mean exactly what they mean to it, and are refused
/// exactly as it would refuse them.
@Suite struct FlatCommandObjectTests {
    private func outcome(_ decode: (String) throws(CommandRejection) -> ClientFrame, _ text: String) -> String {
        do {
            let frame = try decode(text)
            return "frame \(frame.ref.map { "\($0)" } ?? "-") \(frame.command)"
        } catch {
            return "rejected \(error.code) \(error.message) \(error.ref.map { "\($0)" } ?? "-") \(error.type ?? "-")"
        }
    }

    private func expectSameMeaning(_ text: String, read: Bool? = nil, sourceLocation: SourceLocation = #_sourceLocation) {
        if let read { #expect((FlatCommandObject(text) != nil) == read, "\(text)", sourceLocation: sourceLocation) }
        #expect(
            outcome(ClientFrame.decode, text) == outcome(ClientFrame.decodeWithJSONDecoder, text),
            "\(text)",
            sourceLocation: sourceLocation
        )
    }

    @Test func everyDayCommandsAreReadWithoutTheDecoderAndMeanWhatTheyMeanToIt() {
        expectSameMeaning(#"{"type":"hello","name":"bench-1"}"#, read: true)
        expectSameMeaning(#"{"type":"join","room":"hall"}"#, read: true)
        expectSameMeaning(#" { "type" : "send" , "room" : "hall", "text": "héllo 👋 <b>", "id": "m1", "ref": "r" } "#, read: true)
        expectSameMeaning(#"{"type":"typing","room":"hall","ref":null}"#, read: true)
        expectSameMeaning("{\"type\":\"hello\",\n\t\"name\":\"ana\"\r}\n", read: true)
        expectSameMeaning(#"{"type":"ping"}"#, read: true)
        expectSameMeaning(#"{"type":"members","room":"hall","after":null}"#, read: true)
    }

    @Test func refusalsAreTheDecodersOwn() {
        // Read here, refused by the same field rules.
        expectSameMeaning(#"{}"#, read: true)
        expectSameMeaning(#"{"type":"nope","ref":"x"}"#, read: true)
        expectSameMeaning(#"{"type":"join"}"#, read: true)
        expectSameMeaning(#"{"type":"join","room":null}"#, read: true)
        expectSameMeaning(#"{"type":"join","room":"hall","since":"3"}"#, read: true)
        expectSameMeaning(#"{"type":"history","room":"hall","limit":"3"}"#, read: true)
        expectSameMeaning(#"{"type":"delete","room":"hall","offset":"2"}"#, read: true)
        expectSameMeaning(#"{"type":"send","room":"hall","text":"x","id":""}"#, read: true)
        expectSameMeaning(#"{"type":null}"#, read: true)
        // Left to the decoder: numbers, escapes, nesting, keys twice, and what is not one JSON object.
        for text in [
            #"{"type":"join","room":"hall","since":3}"#, #"{"type":"ping","ref":7}"#, #"{"type":"hello","name":"a\"b"}"#,
            #"{"type":"hello","name":"\u00e9"}"#, #"{"type":"hello","name":{"a":1}}"#, #"{"type":"ping","type":"ping"}"#,
            #"{"type":"ping","ref":null,"ref":"x"}"#, #"{"type":"ping"} x"#, #"{"type":"ping",}"#, #"{"type" "ping"}"#,
            #"{"type":"ping""#, #"["ping"]"#, "", "null", #"{"type":nul}"#, #"{"type":nullx}"#, #"{"type":true}"#,
            "{\"type\":\"hello\",\"name\":\"a\u{1}b\"}", #"{'type':'ping'}"#,
        ] {
            expectSameMeaning(text, read: false)
        }
    }

    @Test func randomFlatObjectsMeanTheSameReadEitherWay() {
        var generator = SystemRandomNumberGenerator()
        let keys = ["type", "room", "name", "text", "id", "ref", "since", "limit", "after", "user", "token", "x"]
        let values = [
            #""hello""#, #""join""#, #""send""#, #""members""#, #""hall""#, "null", "1", "-2", "3.5", "true", #""""#,
            #""a\"b""#, #""日本""#, #""\u0041""#, "[]", "{}", #"" sp ""#,
        ]
        let spaces = ["", " ", "\n", "\t "]
        for _ in 0..<3000 {
            let fields = (0..<Int.random(in: 0...5, using: &generator)).map { _ in
                "\(spaces.randomElement()!)\"\(keys.randomElement()!)\"\(spaces.randomElement()!):\(spaces.randomElement()!)\(values.randomElement()!)"
            }
            expectSameMeaning("\(spaces.randomElement()!){\(fields.joined(separator: ","))}\(spaces.randomElement()!)")
        }
    }
}
