import HTTPTypes
import Logging
import NIOCore
import NIOWebSocket
import ParleyCore
import ParleyProtocol
import Synchronization
import WSClient

/// A scripted WebSocket client for tests: send frames, wait for the next one, see how the connection closed.
package final class TestClient: Sendable {
    private enum Outgoing: Sendable {
        case text(String)
        case binary([UInt8])
        case rawText([UInt8])
        case close
    }

    /// Why a test step failed.
    package struct Failure: Error, CustomStringConvertible {
        package let description: String

        /// Creates a failure saying what went wrong.
        package init(description: String) {
            self.description = description
        }
    }

    private let inbox = Inbox()
    private let outgoing = WorkQueue<Outgoing>()
    private let closeFrame = Locked<(code: UInt16?, done: Bool)>((nil, false))
    private let connection: Task<Void, Never>

    private init(url: String, subprotocol: String?, maxFrameSize: Int, connected: Signal) {
        let inbox = self.inbox
        let outgoing = self.outgoing
        let closeFrame = self.closeFrame
        var headers = HTTPFields()
        if let subprotocol { headers[.secWebSocketProtocol] = subprotocol }
        let configuration = WebSocketClientConfiguration(maxFrameSize: maxFrameSize, additionalHeaders: headers)
        connection = Task {
            do {
                let frame = try await WebSocketClient.connect(
                    url: url,
                    configuration: configuration,
                    logger: Logger(label: "test-client")
                ) { inbound, outbound, _ in
                    connected.fire(nil)
                    try await withThrowingTaskGroup(of: Void.self) { group in
                        // However the inbound side ends, the outbound loop must end too, or the group never returns.
                        defer { outgoing.finish() }
                        group.addTask {
                            while let batch = await outgoing.next() {
                                for item in batch {
                                    switch item {
                                    case .text(let text): try await outbound.write(.text(text))
                                    case .binary(let bytes): try await outbound.write(.binary(ByteBuffer(bytes: bytes)))
                                    case .rawText(let bytes):
                                        try await outbound.write(.custom(WebSocketFrame(fin: true, opcode: .text, data: ByteBuffer(bytes: bytes))))
                                    case .close: try await outbound.close(.normalClosure, reason: nil)
                                    }
                                }
                            }
                        }
                        for try await message in inbound.messages(maxSize: 1 << 26) {
                            switch message {
                            case .text(let text): inbox.append(.text(text))
                            case .binary(let buffer): inbox.append(.binary(Array(buffer.readableBytesView)))
                            }
                        }
                    }
                }
                closeFrame.withLock { $0 = (frame.map { Self.number(of: $0.closeCode) }, true) }
            } catch {
                closeFrame.withLock { $0.done = true }
                connected.fire(error)
            }
            outgoing.finish()
            inbox.end()
        }
    }

    private static func number(of code: WebSocketErrorCode) -> UInt16 {
        var buffer = ByteBuffer()
        buffer.write(webSocketErrorCode: code)
        return buffer.readInteger(as: UInt16.self) ?? 0
    }

    /// Connects to `url`, offering `subprotocol` (parley.v1 by default; `nil` for plain mode).
    package static func connect(
        _ url: String,
        subprotocol: String? = "parley.v1",
        maxFrameSize: Int = 1 << 20
    ) async throws -> TestClient {
        let connected = Signal()
        let client = TestClient(url: url, subprotocol: subprotocol, maxFrameSize: maxFrameSize, connected: connected)
        if let error = await connected.wait() { throw error }
        return client
    }

    /// Sends a text frame.
    package func send(_ text: String) {
        outgoing.push(.text(text))
    }

    /// Sends a parley.v1 command.
    package func send(_ command: ClientCommand, ref: Ref? = nil) {
        send(ClientFrame(ref: ref, command: command).jsonText())
    }

    /// Sends a binary frame.
    package func sendBinary(_ bytes: [UInt8]) {
        outgoing.push(.binary(bytes))
    }

    /// Sends a text frame made of arbitrary bytes (for invalid UTF-8).
    package func sendRawText(_ bytes: [UInt8]) {
        outgoing.push(.rawText(bytes))
    }

    /// Starts a normal close.
    package func close() {
        outgoing.push(.close)
    }

    /// The next text frame; fails if none comes within `timeout`.
    package func nextText(timeout: Duration = .seconds(5)) async throws -> String {
        switch await inbox.next(timeout: timeout) {
        case .text(let text): return text
        case .binary: throw Failure(description: "expected a text frame, got a binary one")
        case nil: throw Failure(description: "no frame within \(timeout) (close code \(String(describing: closeCode)))")
        }
    }

    /// The next event, decoded; fails if none comes within `timeout`.
    package func nextEvent(timeout: Duration = .seconds(5)) async throws -> ServerEvent {
        let text = try await nextText(timeout: timeout)
        do {
            return try ServerEvent.decode(text)
        } catch {
            throw Failure(description: "not a parley.v1 event: \(text)")
        }
    }

    /// The next event that is not `presence` or `typing`.
    package func nextReply(timeout: Duration = .seconds(5)) async throws -> ServerEvent {
        while true {
            let event = try await nextEvent(timeout: timeout)
            switch event {
            case .presence, .typing: continue
            default: return event
            }
        }
    }

    /// Whether nothing arrives within `duration`.
    package func receivesNothing(within duration: Duration) async -> Bool {
        await inbox.next(timeout: duration) == nil
    }

    /// Waits for the connection to end and returns the close code the server sent, if any.
    package func closed(timeout: Duration = .seconds(10)) async throws -> UInt16? {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let (code, done) = closeFrame.withLock { $0 }
            if done { return code }
            try await Task.sleep(for: .milliseconds(10))
        }
        throw Failure(description: "the connection did not close within \(timeout)")
    }

    private var closeCode: UInt16? {
        closeFrame.withLock { $0.code }
    }

    /// Says hello as `name` and returns the welcome.
    @discardableResult
    package func hello(_ name: String) async throws -> ServerEvent {
        send(.hello(name: name, token: nil), ref: "hello")
        return try await nextReply()
    }

    /// Joins `room` and returns the `joined` reply (replayed messages follow it).
    @discardableResult
    package func join(_ room: String, since: Int64? = nil) async throws -> ServerEvent {
        send(.join(room: room, since: since), ref: Ref("join-\(room)"))
        return try await nextReply()
    }
}

/// A one-shot signal carrying an optional error.
final class Signal: Sendable {
    private let state = Mutex<(fired: Bool, error: (any Error)?, waiter: CheckedContinuation<(any Error)?, Never>?)>((false, nil, nil))

    func fire(_ error: (any Error)?) {
        let waiter = state.withLock { state -> CheckedContinuation<(any Error)?, Never>? in
            guard !state.fired else { return nil }
            state.fired = true
            state.error = error
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume(returning: error)
    }

    func wait() async -> (any Error)? {
        await withCheckedContinuation { continuation in
            let ready = state.withLock { state -> (any Error)?? in
                if state.fired { return .some(state.error) }
                state.waiter = continuation
                return .none
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }
}

/// A value behind a lock, shareable between tasks.
final class Locked<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>

    init(_ value: Value) {
        mutex = Mutex(value)
    }

    func withLock<Result>(_ body: (inout Value) -> Result) -> Result {
        mutex.withLock { body(&$0) }
    }
}
