/// Who a connection speaks for, as `welcome` describes it: `{"id","name","guest"}`.
///
/// `id` is stable and unique: an account's login name, a token's `sub`, or `guest:` and the display name for a
/// guest (the same name is the same guest). `name` is the display name.
public struct User: Codable, Sendable, Hashable {
    /// The stable, unique id.
    public var id: String
    /// The display name.
    public var name: String
    /// Whether the user is a guest: unauthenticated, anyone may speak as any guest name.
    public var guest: Bool

    /// Creates a user.
    public init(id: String, name: String, guest: Bool) {
        self.id = id
        self.name = name
        self.guest = guest
    }

    /// The guest with display name `name`: id `guest:` + name.
    public static func guest(named name: String) -> User {
        User(id: guestIDPrefix + name, name: name, guest: true)
    }

    /// What every guest's id starts with.
    public static let guestIDPrefix = "guest:"

    /// The user as member lists name them.
    public var ref: UserRef { UserRef(id: id, name: name) }
}

/// A user as `joined.users` lists them: `{"id","name"}`.
public struct UserRef: Codable, Sendable, Hashable {
    /// The stable, unique id.
    public var id: String
    /// The display name.
    public var name: String

    /// Creates a reference.
    public init(id: String, name: String) {
        self.id = id
        self.name = name
    }

    /// The guest with display name `name`.
    public static func guest(named name: String) -> UserRef {
        User.guest(named: name).ref
    }
}
