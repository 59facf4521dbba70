import ParleyProtocol
import ParleyServer
import ParleyTesting
import Testing

extension ServerConfiguration {
    /// The defaults with rate limiting off, for tests that send many messages quickly.
    static var withoutRateLimit: ServerConfiguration {
        ServerConfiguration(limits: Limits(commandsPerSecond: 0))
    }
}

/// The message inside a `message` event, or a recorded failure.
func chatMessage(_ event: ServerEvent) throws -> ChatMessage {
    guard case .message(let message) = event else {
        throw TestClient.Failure(description: "expected a message, got \(event)")
    }
    return message
}

/// Reads `count` message events and returns them.
func messages(_ count: Int, from client: TestClient) async throws -> [ChatMessage] {
    var result: [ChatMessage] = []
    while result.count < count {
        let event = try await client.nextEvent()
        switch event {
        case .message(let message): result.append(message)
        case .presence, .typing, .ack: continue
        default: throw TestClient.Failure(description: "expected a message, got \(event)")
        }
    }
    return result
}

/// A client that has said hello as `name` and joined `rooms`.
func connectedClient(_ server: LiveServer, name: String, joining rooms: [String] = []) async throws -> TestClient {
    let client = try await TestClient.connect(server.webSocketURL)
    try await client.hello(name)
    for room in rooms { try await client.join(room) }
    return client
}

/// Sends `text` as `id` and waits for its ack, skipping the sender's own message; returns the ack's offset.
@discardableResult
func sendAndAwaitAck(_ client: TestClient, room: String, text: String, id: String) async throws -> Int64 {
    client.send(.send(room: room, text: text, id: id), ref: Ref(id))
    while true {
        let event = try await client.nextEvent()
        if case .ack(let ref, _, _, let offset, _) = event, ref == Ref(id) { return offset }
        if case .error = event { throw TestClient.Failure(description: "send failed: \(event)") }
    }
}
