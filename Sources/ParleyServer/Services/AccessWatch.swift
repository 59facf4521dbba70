import Logging
import ParleyCore
import ServiceLifecycle

/// Applies logouts, disabled accounts and changed passwords to this node's connections, and closes those whose
/// credential expired: once a second it reads the credential events the database recorded since the last look (any
/// node's, or a `parley users` command's), so that each takes effect everywhere within a couple of seconds.
struct CredentialWatch: Service {
    static let interval: Duration = .seconds(1)

    let accounts: any AccountStore
    let signedIn: SignedInConnections
    let logger: Logger

    func run() async throws {
        await cancelWhenGracefulShutdown { await watch() }
    }

    private func watch() async {
        var seen: Int64? = nil
        while !Task.isCancelled {
            do {
                if let after = seen {
                    for (id, event) in try await accounts.credentialEvents(after: after) {
                        let closed = signedIn.apply(event)
                        if closed > 0 { logger.info("closed connections whose credentials were revoked", metadata: ["connections": "\(closed)"]) }
                        seen = id
                    }
                } else {
                    seen = try await accounts.latestCredentialEventID()
                }
            } catch {
                logger.debug("could not read credential events; trying again", metadata: ["error": "\(error)"])
            }
            signedIn.closeExpired(at: SystemTime.millisecondsSinceEpoch())
            try? await Task.sleep(for: Self.interval)
        }
    }
}
