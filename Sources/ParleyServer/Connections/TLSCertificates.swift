import NIOCore
import NIOSSL
import Synchronization

/// The certificate HTTPS and WSS are served with (NIOSSL), read from `--tls-cert` and `--tls-key` at start and again
/// on SIGHUP: a renewed certificate takes effect for new connections without dropping the open ones.
final class TLSCertificates: Sendable {
    let files: TLSFiles
    private let context: Mutex<NIOSSLContext>

    /// Reads the files.
    /// - Throws: ``TLSError`` naming the file that cannot be read or used.
    init(files: TLSFiles) throws {
        self.files = files
        context = Mutex(try Self.load(files))
    }

    /// The context new connections are served with.
    var current: NIOSSLContext { context.withLock { $0 } }

    /// Reads the files again; on failure the certificate in use stays.
    func reload() throws {
        let fresh = try Self.load(files)
        context.withLock { $0 = fresh }
    }

    private static func load(_ files: TLSFiles) throws -> NIOSSLContext {
        let chain: [NIOSSLCertificate]
        do {
            chain = try NIOSSLCertificate.fromPEMFile(files.certificatePath)
        } catch {
            throw TLSError(description: "--tls-cert: cannot read a PEM certificate from \(files.certificatePath): \(error)")
        }
        guard !chain.isEmpty else {
            throw TLSError(description: "--tls-cert: \(files.certificatePath) holds no certificate")
        }
        let key: NIOSSLPrivateKey
        do {
            key = try NIOSSLPrivateKey(file: files.keyPath, format: .pem)
        } catch {
            throw TLSError(description: "--tls-key: cannot read a PEM private key from \(files.keyPath): \(error)")
        }
        let configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: chain.map { .certificate($0) },
            privateKey: .privateKey(key)
        )
        do {
            return try NIOSSLContext(configuration: configuration)
        } catch {
            throw TLSError(description: "--tls-cert, --tls-key: the certificate and key do not make a TLS context: \(error)")
        }
    }
}

/// Why TLS cannot be served; the message names the option and file.
public struct TLSError: Error, CustomStringConvertible {
    public let description: String
}
