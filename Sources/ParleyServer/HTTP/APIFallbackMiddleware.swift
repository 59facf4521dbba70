import Foundation
import HTTPTypes
import Hummingbird

/// Answers what no route of the HTTP API takes with a JSON error, as the OpenAPI document describes the API: a
/// method a path does not have is `405` with `Allow`, a path that is not the API's is `404`. (The router alone
/// answers both with an empty `404`.)
struct APIFallbackMiddleware<Context: RequestContext>: RouterMiddleware {
    /// One path of the document: its segments (`nil` for a `{parameter}`) and its methods.
    private struct Operation: Sendable {
        var segments: [String?]
        var methods: [HTTPRequest.Method]
    }

    private let operations: [Operation]
    /// The keys of a path item that are methods (others, such as `parameters`, are not).
    private static var methodNames: Set<String> { ["get", "put", "post", "delete", "options", "head", "patch", "trace"] }

    /// Reads the paths and methods of an OpenAPI document.
    init(document: String) {
        let paths = (try? JSONSerialization.jsonObject(with: Data(document.utf8)) as? [String: Any])?["paths"] as? [String: [String: Any]] ?? [:]
        operations = paths.map { path, item in
            Operation(
                segments: path.split(separator: "/").map { $0.hasPrefix("{") ? nil : String($0) },
                methods: item.keys.filter(Self.methodNames.contains).compactMap { HTTPRequest.Method($0.uppercased()) }
                    .sorted { $0.rawValue < $1.rawValue }
            )
        }
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard request.uri.path.hasPrefix("/api/") else { return try await next(request, context) }
        do {
            return try await next(request, context)
        } catch let error as HTTPError where error.status == .notFound {
            let segments = request.uri.path.split(separator: "/")
            guard let operation = operations.first(where: { Self.matches($0.segments, segments) }) else {
                return ParleyServer.error(.notFound, "bad_request", "there is no such endpoint: /api/v1/openapi.json lists them")
            }
            var response = ParleyServer.error(
                .methodNotAllowed,
                "bad_request",
                "\(request.uri.path) takes \(operation.methods.map(\.rawValue).joined(separator: ", ")), not \(request.method.rawValue)"
            )
            response.headers[.allow] = operation.methods.map(\.rawValue).joined(separator: ", ")
            return response
        }
    }

    private static func matches(_ template: [String?], _ segments: [Substring]) -> Bool {
        template.count == segments.count && zip(template, segments).allSatisfy { expected, actual in expected.map { $0 == actual } ?? true }
    }
}
