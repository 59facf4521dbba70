import Logging
import ServiceLifecycle
import UnixSignals

/// Answers SIGHUP, the signal `systemctl reload` sends: reloads the TLS certificate when there is one, and logs the
/// outcome. Without TLS there is nothing to reload, and the signal is logged rather than ending the process (its
/// default action).
struct ReloadService: Service {
    let certificates: TLSCertificates?
    let logger: Logger

    func run() async throws {
        let hangups = await UnixSignalsSequence(trapping: .sighup)
        await cancelWhenGracefulShutdown {
            for await _ in hangups {
                guard let certificates else {
                    logger.notice("SIGHUP: nothing to reload without --tls-cert")
                    continue
                }
                do {
                    try certificates.reload()
                    logger.notice("reloaded the TLS certificate", metadata: ["certificate": "\(certificates.files.certificatePath)"])
                } catch {
                    logger.error("could not reload the TLS certificate; the one in use stays", metadata: ["error": "\(error)"])
                }
            }
        }
    }
}
