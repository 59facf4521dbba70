import Testing

@testable import ParleyProtocol

@Suite struct DuplicateKeysTests {
    @Test(arguments: [
        #"{"type":"hello","name":"Ana","name":"Admin"}"#,
        #"{"type":"ping","ref":"1","r\u0065f":"2"}"#,
        #"{"a":{"b":1,"b":2}}"#,
        #"[{"x":[{"k":1,"k":1}]}]"#,
        #"{"a":1, "a" : 2}"#,
        #"{"\"":1,"\"":2}"#,
    ])
    func keysGivenTwiceInOneObjectAreFound(json: String) {
        #expect(DuplicateKeys.occur(in: json))
    }

    @Test(arguments: [
        #"{"type":"ping","ref":"type"}"#,
        #"{"a":{"a":1},"b":[{"a":1},{"a":1}]}"#,
        #"{"a":"\",\"a\":1","b":1}"#,
        #"{"k":["k","k"],"l":1}"#,
        #"[1,"a","a"]"#,
        #"{}"#,
    ])
    func distinctKeysPass(json: String) {
        #expect(!DuplicateKeys.occur(in: json))
    }

    @Test func aCommandWithAKeyTwiceIsABadRequestCarryingItsRef() {
        do {
            _ = try ClientFrame.decode(#"{"type":"hello","name":"Ana","name":"Admin","ref":"r"}"#)
            Issue.record("decoded a command with a key given twice")
        } catch {
            #expect(error.code == .badRequest && error.ref == "r" && error.type == "hello")
        }
    }
}
