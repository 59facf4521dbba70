/// WebSocket close codes that Parley sends, with their meaning in parley.v1.
public enum CloseCode: UInt16, Sendable, CaseIterable {
    /// The server is shutting down; reconnect (to another node) and resume.
    case goingAway = 1001
    /// A text frame was not valid UTF-8.
    case invalidUTF8 = 1007
    /// A policy refused the connection (origin, authentication).
    case policyViolation = 1008
    /// A frame or message is over the frame limit.
    case messageTooBig = 1009
    /// The server failed.
    case internalError = 1011
    /// The credential was refused, has expired, or was revoked (signed out, account disabled, password changed):
    /// sign in again, then reconnect and resume.
    case unauthorized = 4001
    /// A server admin banned the user from the server: do not reconnect as this user.
    case bannedFromServer = 4003
    /// The client read too slowly and its outbox overflowed; reconnect and resume from the last offset.
    case slowConsumer = 4008
}
