/// The stable error codes of parley.v1, carried by the `error` frame.
public enum ErrorCode: String, Codable, Sendable, CaseIterable {
    /// The frame is not a JSON object, or a field is missing or has the wrong type.
    case badRequest = "bad_request"
    /// The `type` names no command of parley.v1.
    case unknownType = "unknown_type"
    /// Any command other than `hello` before `hello`.
    case helloRequired = "hello_required"
    /// `send`, `typing` or `leave` for a room the connection has not joined.
    case notJoined = "not_joined"
    /// The room name breaks the naming rule (1–64 of `A-Z a-z 0-9 - _ .`).
    case invalidRoom = "invalid_room"
    /// The display name breaks the naming rule (1–32 printable characters).
    case invalidName = "invalid_name"
    /// A guest asked for a display name that belongs to an account.
    case nameTaken = "name_taken"
    /// The message text is over the configured size.
    case tooLarge = "too_large"
    /// The connection sends commands faster than its rate limit.
    case rateLimited = "rate_limited"
    /// The credentials are missing or wrong.
    case unauthorized
    /// The credentials, the user's role or a ban do not allow this command (a private room, moderation).
    case forbidden
    /// `create` named a room that exists.
    case roomExists = "room_exists"
    /// The user named does not exist.
    case noSuchUser = "no_such_user"
    /// The user named is not a member of the room.
    case notMember = "not_member"
    /// The server failed (the store is unreachable, say); the command may be retried.
    case `internal`
}
