/// Why a store (messages or accounts) failed: which database, what went wrong, and the error that caused it, kept
/// for whoever logs or inspects it.
public struct StoreError: Error, CustomStringConvertible {
    private enum Failure: Sendable {
        case cannotOpen
        case unavailable
        case closed
    }

    private let failure: Failure
    /// The database: a SQLite file's path, or a PostgreSQL URL without its password.
    public let database: String
    /// What the database or its driver reported, in words.
    public let reason: String?
    /// The error that caused this one.
    public let cause: (any Error)?

    private init(_ failure: Failure, database: String, reason: String?, cause: (any Error)?) {
        self.failure = failure
        self.database = database
        self.reason = reason
        self.cause = cause
    }

    /// The database could not be opened, created, reached or migrated at start.
    /// - Parameter reason: The cause in words, when its own description hides what matters.
    public static func cannotOpen(_ database: String, cause: any Error, reason: String? = nil) -> StoreError {
        StoreError(.cannotOpen, database: database, reason: reason ?? "\(cause)", cause: cause)
    }

    /// The database could not be reached, or refused a statement, while running.
    /// - Parameter reason: The cause in words, when its own description hides what matters.
    public static func unavailable(_ database: String, cause: any Error, reason: String? = nil) -> StoreError {
        StoreError(.unavailable, database: database, reason: reason ?? "\(cause)", cause: cause)
    }

    /// The store has shut down.
    public static func closed(_ database: String) -> StoreError {
        StoreError(.closed, database: database, reason: nil, cause: nil)
    }

    /// Whether the store had shut down (the operation never reached the database).
    public var isClosed: Bool { failure == .closed }

    public var description: String {
        switch failure {
        case .cannotOpen: "cannot open the database \(database): \(reason ?? "unknown error")"
        case .unavailable: "the database \(database) is unavailable: \(reason ?? "unknown error")"
        case .closed: "the store for the database \(database) is closed"
        }
    }
}
