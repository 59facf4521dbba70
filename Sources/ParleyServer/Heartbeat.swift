/// How a WebSocket connection checks that its client is still there: a ping every `interval`, and the connection is
/// dropped when the pong has not come back within `timeout` (``WebSocketConnection`` runs it as event-loop timers).
struct Heartbeat: Sendable {
    let interval: Duration
    let timeout: Duration
}
