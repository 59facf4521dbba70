import ArgumentParser
import Foundation
import ParleyCore
import ParleyIdentity
import ParleyProtocol

/// `parley keys …`: API keys for application backends, managed on the server's database like accounts.
struct Keys: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Manage API keys for application backends (the HTTP API).",
        discussion: """
            A key is shown once, when it is created, and stored only as its hash. Send it as `Authorization: Bearer \
            pak_…` to /api/v1/…; it acts as a server admin within its scopes, under the user id key:NAME, and one \
            with publish may post as any user (`"as":{"id","name"}`). Revoking a key stops it at once on every node.
            """,
        subcommands: [Create.self, List.self, Revoke.self]
    )

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a key and print it (once).")

        @Argument(help: "The key's name: 1–32 of a-z 0-9 _ . - (lower-cased).")
        var name: String

        @Option(
            help:
                "What it may do, comma-separated: read (rooms, history, members, events), publish (post, typing), moderate (rooms, deletions, moderation, server bans)."
        )
        var scope = "read,publish"

        @OptionGroup var database: Users.Database

        func run() async throws {
            var scopes: Set<APIKeyScope> = []
            for name in scope.split(separator: ",", omittingEmptySubsequences: false) {
                guard let parsed = APIKeyScope(rawValue: name.trimmingCharacters(in: .whitespaces)) else {
                    throw ValidationError("unknown scope \"\(name)\": use read, publish and moderate, comma-separated")
                }
                scopes.insert(parsed)
            }
            let identity = Users.identity(try await database.accounts())
            do {
                let (key, record) = try await identity.createAPIKey(named: name, scopes: scopes, now: SystemTime.millisecondsSinceEpoch())
                print(key)
                FileHandle.standardError.write(Data("created the key \(record.name) (\(record.storedScopes)); it is not shown again\n".utf8))
            } catch let error as APIKeys.CreationError {
                switch error {
                case .invalidName: throw Users.failure("a key's name is 1–32 of a-z 0-9 _ . -")
                case .noScope: throw Users.failure("give a key at least one scope")
                case .nameTaken: throw Users.failure("a key named \(name.lowercased()) exists; revoke it or pick another name")
                }
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the keys (their names and scopes, never the keys).")

        @OptionGroup var database: Users.Database

        func run() async throws {
            let keys = try await database.accounts().apiKeys()
            guard !keys.isEmpty else { return print("no keys") }
            for key in keys {
                print("\(key.name)\t\(key.storedScopes)\t\(Timestamp.rfc3339(millisecondsSinceEpoch: key.createdAt))")
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a key: it stops working at once.")

        @Argument(help: "The key's name.")
        var name: String

        @OptionGroup var database: Users.Database

        func run() async throws {
            guard try await database.accounts().revokeAPIKey(named: name.lowercased()) else {
                throw Users.failure("there is no key named \(name.lowercased())")
            }
            print("revoked \(name.lowercased())")
        }
    }
}
