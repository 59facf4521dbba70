import ParleyCore
import ServiceLifecycle

/// Sends large rooms their member count once a second when it changed (`Hub/announcePresenceCounts()`): presence
/// in a room above the presence list limit costs each member at most one frame a second however many join.
struct PresenceCounts: Service {
    static let interval: Duration = .seconds(1)

    let hub: Hub

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try? await Task.sleep(for: Self.interval)
                hub.announcePresenceCounts()
            }
        }
    }
}
