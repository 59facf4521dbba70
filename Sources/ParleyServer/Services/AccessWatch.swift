import Logging
import ParleyCore
import ServiceLifecycle

/// Applies what other nodes (and `parley users`) changed about who may be where: logouts, disabled accounts and
/// changed passwords (close with 4001), kicks and bans (leave the room), invitations (tell the invitee), bans from the
/// server (close with 4003); and closes connections whose credential expired. Every ``interval`` it reads the
/// credential and access events the database recorded since the last look, so each takes effect everywhere within
/// a fraction of a second. Access events this node recorded were applied when it made them and are skipped.
struct AccessWatch: Service {
    static let interval: Duration = .milliseconds(250)

    let accounts: any AccountStore
    let rooms: any RoomStore
    let node: String
    let hub: Hub
    let signedIn: SignedInConnections
    let logger: Logger

    func run() async throws {
        await cancelWhenGracefulShutdown { await watch() }
    }

    private func watch() async {
        var credentialsSeen: Int64? = nil
        var accessSeen: Int64? = nil
        while !Task.isCancelled {
            do {
                if let after = credentialsSeen {
                    for (id, event) in try await accounts.credentialEvents(after: after) {
                        let closed = signedIn.apply(event)
                        if closed > 0 { logger.info("closed connections whose credentials were revoked", metadata: ["connections": "\(closed)"]) }
                        credentialsSeen = id
                    }
                } else {
                    credentialsSeen = try await accounts.latestCredentialEventID()
                }
                if let after = accessSeen {
                    for (id, origin, event) in try await rooms.accessEvents(after: after) {
                        if origin != node { AccessEvents.apply(event, hub: hub, signedIn: signedIn) }
                        accessSeen = id
                    }
                } else {
                    accessSeen = try await rooms.latestAccessEventID()
                }
            } catch {
                logger.debug("could not read credential or access events; trying again", metadata: ["error": "\(error)"])
            }
            signedIn.closeExpired(at: SystemTime.millisecondsSinceEpoch())
            try? await Task.sleep(for: Self.interval)
        }
    }
}
