import ArgumentParser
import Foundation
import Logging
import NIOPosix
import ParleyCore
import ParleyIdentity
import ParleyPostgres
import ParleySQLite

/// `parley users …`: accounts, managed on the server's database (SQLite or PostgreSQL), while it runs or not.
struct Users: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Manage accounts on the server's database.",
        discussion: """
            Works on the same --db as `parley serve`, while the server runs or not; in a cluster any node's database URL \
            will do. A disabled account or a changed password takes effect on every running node within seconds: its \
            sessions stop working and its connections are closed with 4001.
            """,
        subcommands: [Add.self, List.self, Disable.self, Enable.self, SetPassword.self]
    )

    /// The options every subcommand takes.
    struct Database: ParsableArguments {
        @Option(help: "The server's database: a SQLite file or postgres://… (PARLEY_DB; default parley.sqlite)")
        var db: String?

        /// Opens the database's accounts.
        func accounts() async throws -> any AccountStore {
            let environment = ProcessInfo.processInfo.environment
            let database = db ?? environment["PARLEY_DB"] ?? "parley.sqlite"
            var logger = Logger(label: "parley")
            logger.logLevel = .error
            do {
                if PostgresLocation.isPostgresURL(database) {
                    let location = try PostgresLocation(url: database, environment: environment)
                    return try await PostgresMessageStore(location: location, logger: logger).accounts
                }
                return try SQLiteMessageStore(path: database, logger: logger, onCommit: { _ in }).accounts
            } catch {
                throw Users.failure("\(error)")
            }
        }
    }

    /// Reads a password from standard input (one line), for `--password-stdin`.
    static func passwordFromStandardInput() throws -> String {
        guard let line = readLine(strippingNewline: true), !line.isEmpty else {
            throw ValidationError("no password on standard input: e.g. `echo \"$PASSWORD\" | parley users add ana --password-stdin`")
        }
        return line
    }

    /// Says what went wrong on standard error and ends the command with exit code 1 (no usage text: the command
    /// was well formed).
    static func failure(_ message: String) -> ExitCode {
        FileHandle.standardError.write(Data("parley: \(message)\n".utf8))
        return ExitCode(1)
    }

    static func identity(_ accounts: any AccountStore) -> IdentityService {
        IdentityService(accounts: accounts, passwords: Passwords(threads: NIOThreadPool.singleton))
    }

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create an account.")

        @Argument(help: "The login name: 1–32 of a-z 0-9 _ . - (lower-cased).")
        var user: String

        @Option(help: "The display name (default: the login name).")
        var name: String?

        @Flag(help: "A server admin, who acts as owner of every room.")
        var admin = false

        @Flag(help: "Read the password (8–256 characters) from standard input; it is never a command-line argument.")
        var passwordStdin = false

        @OptionGroup var database: Database

        func run() async throws {
            guard passwordStdin else { throw ValidationError("give the password on standard input with --password-stdin") }
            let password = try Users.passwordFromStandardInput()
            do {
                let account = try await Users.identity(try await database.accounts()).register(
                    user: user,
                    password: password,
                    name: name,
                    admin: admin,
                    evenIfClosed: true
                )
                print("added \(account.id) (\(account.name))\(account.admin ? ", admin" : "")")
            } catch let error as IdentityService.RegistrationError {
                throw Users.failure(error.explanation)
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the accounts.")

        @OptionGroup var database: Database

        func run() async throws {
            let accounts = try await database.accounts().accounts()
            guard !accounts.isEmpty else { return print("no accounts") }
            for account in accounts {
                let flags = [account.admin ? "admin" : nil, account.disabled ? "disabled" : nil].compactMap { $0 }
                print("\(account.id)\t\(account.name)\(flags.isEmpty ? "" : "\t" + flags.joined(separator: ", "))")
            }
        }
    }

    struct Disable: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Disable an account: it cannot sign in, its sessions end.")

        @Argument(help: "The login name.")
        var user: String

        @OptionGroup var database: Database

        func run() async throws {
            try await Users.setDisabled(true, user: user, in: database)
            print("disabled \(user.lowercased()); its sessions are revoked and its connections close within seconds")
        }
    }

    struct Enable: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Enable a disabled account again.")

        @Argument(help: "The login name.")
        var user: String

        @OptionGroup var database: Database

        func run() async throws {
            try await Users.setDisabled(false, user: user, in: database)
            print("enabled \(user.lowercased())")
        }
    }

    static func setDisabled(_ disabled: Bool, user: String, in database: Database) async throws {
        guard try await database.accounts().setDisabled(disabled, account: user.lowercased()) else {
            throw failure("there is no account \(user.lowercased())")
        }
    }

    struct SetPassword: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "set-password",
            abstract: "Change an account's password; its sessions end."
        )

        @Argument(help: "The login name.")
        var user: String

        @Flag(help: "Read the new password (8–256 characters) from standard input.")
        var passwordStdin = false

        @OptionGroup var database: Database

        func run() async throws {
            guard passwordStdin else { throw ValidationError("give the password on standard input with --password-stdin") }
            let password = try Users.passwordFromStandardInput()
            if let problem = Passwords.problem(with: password) { throw Users.failure(problem) }
            let hash = try await Passwords(threads: NIOThreadPool.singleton).hash(password)
            guard try await database.accounts().setPasswordHash(hash, forAccount: user.lowercased()) else {
                throw Users.failure("there is no account \(user.lowercased())")
            }
            print("changed the password of \(user.lowercased()); its sessions are revoked")
        }
    }
}

extension IdentityService.RegistrationError {
    /// What to fix, for the command line.
    var explanation: String {
        switch self {
        case .registrationClosed: "registration is closed"
        case .invalidName(let message), .weakPassword(let message): message
        case .userTaken: "that user name is taken"
        }
    }
}
