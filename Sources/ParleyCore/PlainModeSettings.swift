/// How the tutorial's plain-text clients are served.
public struct PlainModeSettings: Sendable {
    /// The room plain clients are in.
    public var room: String
    /// What each message is prefixed with when sent to plain clients.
    public var messagePrefix: String
    /// What plain clients receive when another plain client disconnects.
    public var disconnectNotice: String
    /// The display name plain clients' messages carry.
    public var senderName: String

    /// Creates settings; the defaults are the tutorial's.
    public init(
        room: String = "lobby",
        messagePrefix: String = "Mensagem recebida: ",
        disconnectNotice: String = "Um cliente desconectou.",
        senderName: String = "guest"
    ) {
        self.room = room
        self.messagePrefix = messagePrefix
        self.disconnectNotice = disconnectNotice
        self.senderName = senderName
    }
}
