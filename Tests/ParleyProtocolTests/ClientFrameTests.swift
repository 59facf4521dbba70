import Foundation
import ParleyProtocol
import Testing

@Suite struct ClientFrameTests {
    @Test(arguments: [
        (#"{"type":"hello","name":"Ana","ref":"1"}"#, ClientFrame(ref: "1", command: .hello(name: "Ana", token: nil))),
        (#"{"type":"hello","name":"Ana","token":"t"}"#, ClientFrame(command: .hello(name: "Ana", token: "t"))),
        (#"{"type":"hello","token":"t"}"#, ClientFrame(command: .hello(name: nil, token: "t"))),
        (#"{"type":"join","room":"general"}"#, ClientFrame(command: .join(room: "general", since: nil))),
        (#"{"type":"join","room":"general","since":41}"#, ClientFrame(command: .join(room: "general", since: 41))),
        (#"{"type":"join","room":"general","since":null}"#, ClientFrame(command: .join(room: "general", since: nil))),
        (#"{"type":"send","room":"r","text":"olá\n","id":"c1"}"#, ClientFrame(command: .send(room: "r", text: "olá\n", id: "c1"))),
        (#"{"type":"history","room":"r","before":9,"limit":20}"#, ClientFrame(command: .history(room: "r", before: 9, limit: 20))),
        (#"{"type":"history","room":"r"}"#, ClientFrame(command: .history(room: "r", before: nil, limit: nil))),
        (#"{"type":"typing","room":"r","extra":[1]}"#, ClientFrame(command: .typing(room: "r"))),
        (#"{"type":"leave","room":"r"}"#, ClientFrame(command: .leave(room: "r"))),
        (#"{"type":"ping"}"#, ClientFrame(command: .ping)),
    ])
    func decodesEveryCommand(text: String, expected: ClientFrame) throws {
        #expect(try ClientFrame.decode(text) == expected)
    }

    @Test(arguments: [
        ("", ErrorCode.badRequest, nil as String?),
        ("null", .badRequest, nil),
        (#""hello""#, .badRequest, nil),
        (#"{"type":5}"#, .badRequest, nil),
        (#"{"ref":true,"type":"ping"}"#, .badRequest, nil),
        (#"{"ref":{"a":1},"type":"ping"}"#, .badRequest, nil),
        (#"{"type":"fly","ref":"x"}"#, .unknownType, "x"),
        (#"{"type":"send","room":"r","text":"t","id":"","ref":"x"}"#, .badRequest, "x"),
        (#"{"type":"send","room":"r","text":"t","id":5}"#, .badRequest, nil),
        (#"{"type":"join","room":"r","since":1.5}"#, .badRequest, nil),
        (#"{"type":"join","room":"r","since":"3"}"#, .badRequest, nil),
        (#"{"type":"history","room":"r","limit":-2}"#, .badRequest, nil),
    ])
    func rejectsMalformedFramesWithTheRightCodeAndRef(text: String, code: ErrorCode, ref: String?) {
        #expect(throws: CommandRejection.self) { try ClientFrame.decode(text) }
        do {
            _ = try ClientFrame.decode(text)
        } catch {
            #expect(error.code == code)
            let expected: Ref? = ref.map { Ref($0) }
            #expect(error.ref == expected)
        }
    }

    @Test func aNumericRefIsAcceptedAndEchoedAsANumber() throws {
        let frame = try ClientFrame.decode(#"{"type":"ping","ref":42}"#)
        #expect(frame.ref == Ref(number: Decimal(42)))
        let reply = String(decoding: ServerEvent.pong(ref: frame.ref).jsonBytes(), as: UTF8.self)
        #expect(reply == #"{"ref":42,"type":"pong"}"#)
        let rejected = try? ClientFrame.decode(#"{"type":"fly","ref":7.5}"#)
        #expect(rejected == nil)
        do {
            _ = try ClientFrame.decode(#"{"type":"fly","ref":7.5}"#)
        } catch {
            #expect(error.ref == Ref(number: Decimal(string: "7.5")!) && error.code == .unknownType)
        }
    }

    @Test func encodingRoundTrips() throws {
        let frames = [
            ClientFrame(ref: "a", command: .hello(name: "Zoë \"Z\"", token: nil)),
            ClientFrame(command: .join(room: "r", since: 3)),
            ClientFrame(command: .send(room: "r", text: "line\nbreak \u{0001}", id: "x")),
            ClientFrame(command: .history(room: "r", before: nil, limit: 5)),
            ClientFrame(command: .ping),
        ]
        for frame in frames {
            #expect(try ClientFrame.decode(frame.jsonText()) == frame)
        }
    }
}
