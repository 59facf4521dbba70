import ArgumentParser

/// The `parley` command: a self-hosted real-time chat server.
@main
struct Parley: AsyncParsableCommand {
    static let version = "0.1.0"

    static let configuration = CommandConfiguration(
        commandName: "parley",
        abstract: "A self-hosted real-time chat server.",
        version: version,
        subcommands: [Serve.self, Users.self, Keys.self, Backup.self]
    )
}
