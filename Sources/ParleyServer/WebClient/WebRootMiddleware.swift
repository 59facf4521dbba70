import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// Serves a folder at `/` instead of the embedded web client (`--web-root`, for working on the client), with the
/// embedded client's security headers. Only regular files inside the folder are served: a path that leaves it,
/// through `..` or a symbolic link, one with a NUL or a backslash, and anything that is not a regular file are
/// answered `404` like a missing file.
struct WebRootMiddleware<Context: RequestContext>: RouterMiddleware {
    /// Files larger than this are not served (the client's bundle is a few hundred kilobytes).
    static var maxFileBytes: Int { 32 * 1024 * 1024 }

    private let root: URL

    /// - Parameter folder: The folder; it must exist.
    init(folder: String) {
        root = URL(fileURLWithPath: folder).resolvingSymlinksInPath().standardizedFileURL
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard request.method == .get || request.method == .head else { return try await next(request, context) }
        guard let file = file(for: request.uri.path) else { return try await next(request, context) }
        guard let body = try? Data(contentsOf: file, options: .mappedIfSafe) else { return try await next(request, context) }
        var headers = WebClient.securityHeaders(host: request.head.authority)
        headers[.contentType] = Self.contentType(of: file.pathExtension)
        headers[.cacheControl] = "no-cache"
        headers[.contentLength] = String(body.count)
        return Response(status: .ok, headers: headers, body: request.method == .head ? .init() : .init(byteBuffer: ByteBuffer(bytes: body)))
    }

    /// The regular file inside the root that `path` names (`/` and folders meaning their `index.html`), or `nil`.
    func file(for path: String) -> URL? {
        guard let decoded = path.removingPercentEncoding, !decoded.contains("\0"), !decoded.contains("\\") else { return nil }
        let segments = decoded.split(separator: "/", omittingEmptySubsequences: true)
        guard !segments.contains(where: { $0 == ".." || $0 == "." }) else { return nil }
        var candidate = segments.reduce(root) { $0.appendingPathComponent(String($1)) }
        if Self.isFolder(candidate) { candidate = candidate.appendingPathComponent("index.html") }
        let resolved = candidate.resolvingSymlinksInPath().standardizedFileURL
        guard resolved.path.hasPrefix(root.path + "/"),
            let attributes = try? FileManager.default.attributesOfItem(atPath: resolved.path),
            attributes[.type] as? FileAttributeType == .typeRegular,
            let size = attributes[.size] as? Int, size <= Self.maxFileBytes
        else { return nil }
        return resolved
    }

    private static func isFolder(_ url: URL) -> Bool {
        var isFolder: ObjCBool = false
        return FileManager.default.fileExists(atPath: url.path, isDirectory: &isFolder) && isFolder.boolValue
    }

    static func contentType(of fileExtension: String) -> String {
        switch fileExtension.lowercased() {
        case "html", "htm": "text/html; charset=utf-8"
        case "js", "mjs": "text/javascript; charset=utf-8"
        case "css": "text/css; charset=utf-8"
        case "json", "map": "application/json; charset=utf-8"
        case "svg": "image/svg+xml"
        case "png": "image/png"
        case "jpg", "jpeg": "image/jpeg"
        case "gif": "image/gif"
        case "webp": "image/webp"
        case "ico": "image/x-icon"
        case "woff2": "font/woff2"
        case "txt": "text/plain; charset=utf-8"
        default: "application/octet-stream"
        }
    }
}
