import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// The web client served at `/`, built into the binary by scripts/build-web.sh.
struct WebClient: Sendable {
    struct File: Sendable {
        let body: ByteBuffer
        let contentType: String
        /// A content hash, used as the ETag and as the `?v=` that marks a URL as immutable (index.html links the
        /// assets with it).
        let version: String
    }

    let files: [String: File]

    /// The client embedded in this binary.
    static let embedded = WebClient(
        files: Dictionary(
            uniqueKeysWithValues: embeddedFiles.map { file in
                let bytes = Data(base64Encoded: file.base64) ?? Data()
                return (file.path, File(body: ByteBuffer(bytes: bytes), contentType: file.contentType, version: file.version))
            }
        )
    )

    /// Answers GET and HEAD for the client's files, `/` being `/index.html`; `nil` for any other request.
    func response(to request: Request) -> Response? {
        guard request.method == .get || request.method == .head else { return nil }
        let path = request.uri.path == "/" ? "/index.html" : request.uri.path
        guard let file = files[path] else { return nil }
        let etag = "\"\(file.version)\""
        var headers = Self.securityHeaders(host: request.head.authority)
        headers[.contentType] = file.contentType
        headers[.eTag] = etag
        let versioned = request.uri.queryParameters["v"].map { String($0) == file.version } ?? false
        headers[.cacheControl] = versioned ? "public, max-age=31536000, immutable" : "no-cache"
        if request.headers[values: .ifNoneMatch].contains(where: {
            $0.split(separator: ",").contains { $0.trimmingCharacters(in: .whitespaces) == etag }
        }) {
            return Response(status: .notModified, headers: headers)
        }
        headers[.contentLength] = String(file.body.readableBytes)
        return Response(status: .ok, headers: headers, body: request.method == .head ? .init() : .init(byteBuffer: file.body))
    }

    /// Headers that keep the page from running anything but its own script and from being framed.
    static func securityHeaders(host: String?) -> HTTPFields {
        var connect = "'self'"
        if let host, host.allSatisfy({ $0.isLetter || $0.isNumber || ".-:[]".contains($0) }) {
            connect += " ws://\(host) wss://\(host)"
        }
        return [
            .contentSecurityPolicy:
                "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src \(connect); "
                + "base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
            .xContentTypeOptions: "nosniff",
            HTTPField.Name("Referrer-Policy")!: "no-referrer",
            HTTPField.Name("X-Frame-Options")!: "DENY",
        ]
    }
}

/// Serves the embedded web client before the router sees the request.
struct WebClientMiddleware<Context: RequestContext>: RouterMiddleware {
    let client: WebClient

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if let response = client.response(to: request) { return response }
        return try await next(request, context)
    }
}
