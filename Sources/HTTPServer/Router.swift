import HTTP1
import Synchronization

/// A streaming request handler: reads the request, writes the response through the writer.
public typealias HTTPHandler = @Sendable (HTTPRequest, ResponseWriter) async throws -> Void

/// Maps method + path to handlers and runs the middleware chain around them: the step between a parsed
/// request and the API layer.
///
/// Paths are matched segment by segment; a `{name}` segment matches any one segment and is exposed in
/// `HTTPRequest.pathParameters`; a last `{name...}` segment matches the rest of the path, one or more
/// segments joined by `/` (model names such as `org/model`). A path that matches no route answers 404; a
/// path that matches only with other methods answers 405 with `Allow` (and `OPTIONS` answers 204 with
/// `Allow`). `HEAD` falls back to the `GET` route. Middleware registered with `use` wraps every request,
/// including 404/405 answers, in registration order (first registered = outermost). Errors thrown by a
/// handler become OpenAI-style JSON error responses (`HTTPError` keeps its status; anything else is 500).
/// Register routes and middleware before `HTTPServer.start()`.
public final class Router: Sendable {
    struct Route: Sendable {
        let method: HTTPMethod
        let pattern: String
        let segments: [Substring]
        let handler: HTTPHandler
    }

    private let routes = Mutex<[Route]>([])
    private let middlewares = Mutex<[HTTPMiddleware]>([])

    public init() {}

    /// Adds a streaming route.
    public func add(_ method: HTTPMethod, _ path: String, _ handler: @escaping HTTPHandler) {
        precondition(path.hasPrefix("/"), "route paths start with /")
        let route = Route(method: method, pattern: path, segments: Router.segments(path), handler: handler)
        routes.withLock { $0.append(route) }
    }

    /// Adds a route whose handler returns a complete response.
    public func add(
        _ method: HTTPMethod, _ path: String, respond: @escaping @Sendable (HTTPRequest) async throws -> HTTPResponse
    ) {
        add(method, path) { request, writer in
            let response = try await respond(request)
            try await writer.send(response)
        }
    }

    /// Appends a middleware (outermost first).
    public func use(_ middleware: HTTPMiddleware) {
        middlewares.withLock { $0.append(middleware) }
    }

    /// Routes `request` through the middleware chain to its handler (or a 404/405 answer).
    public func respond(to request: HTTPRequest, writer: ResponseWriter) async throws {
        var request = request
        let endpoint = match(&request)
        var next: HTTPMiddleware.Next = { request, writer in
            do {
                try await endpoint(request, writer)
                writer.completeAfterHandler(error: nil)
            } catch {
                writer.completeAfterHandler(error: error)
            }
        }
        for middleware in middlewares.withLock({ $0 }).reversed() {
            let inner = next
            next = { request, writer in try await middleware.handle(request, writer, inner) }
        }
        try await next(request, writer)
    }

    /// Finds the handler for `request`, setting its `route` and `pathParameters`.
    private func match(_ request: inout HTTPRequest) -> HTTPHandler {
        let pathSegments = Router.segments(request.path)
        var allowed: [String] = []
        var fallback: (Route, [String: String])?
        for route in routes.withLock({ $0 }) {
            guard let parameters = Router.match(route.segments, pathSegments) else { continue }
            if route.method == request.method {
                request.route = route.pattern
                request.pathParameters = parameters
                return route.handler
            }
            if request.method == .head && route.method == .get && fallback == nil { fallback = (route, parameters) }
            allowed.append(route.method.rawValue)
            if route.method == .get { allowed.append("HEAD") }
        }
        if let (route, parameters) = fallback {
            request.route = route.pattern
            request.pathParameters = parameters
            return route.handler
        }
        if allowed.isEmpty {
            let path = request.path
            return { _, _ in
                throw HTTPError(status: .notFound, message: "no route for \(path)", code: "not_found")
            }
        }
        var methods: [String] = []
        for method in allowed + ["OPTIONS"] where !methods.contains(method) { methods.append(method) }
        let allow = methods.joined(separator: ", ")
        if request.method == .options {
            return { _, writer in
                try await writer.send(HTTPResponse(status: .noContent, headers: ["Allow": allow]))
            }
        }
        let method = request.method.rawValue
        return { _, _ in
            throw HTTPError(
                status: .methodNotAllowed, message: "method \(method) is not allowed here", code: "method_not_allowed",
                headers: ["Allow": allow])
        }
    }

    static func segments(_ path: String) -> [Substring] {
        path.split(separator: "/", omittingEmptySubsequences: true)
    }

    static func match(_ pattern: [Substring], _ path: [Substring]) -> [String: String]? {
        var path = path
        if let last = pattern.last, last.hasPrefix("{") && last.hasSuffix("...}") {
            guard path.count >= pattern.count else { return nil }
            let rest = path[(pattern.count - 1)...].map { HTTPRequest.percentDecode($0, plusAsSpace: false) }
            path.replaceSubrange((pattern.count - 1)..., with: [Substring(rest.joined(separator: "/"))])
        }
        guard pattern.count == path.count else { return nil }
        var parameters: [String: String] = [:]
        for (expected, actual) in zip(pattern, path) {
            if expected.hasPrefix("{") && expected.hasSuffix("...}") {
                parameters[String(expected.dropFirst().dropLast(4))] = String(actual)
            } else if expected.hasPrefix("{") && expected.hasSuffix("}") {
                parameters[String(expected.dropFirst().dropLast())] = HTTPRequest.percentDecode(
                    actual, plusAsSpace: false)
            } else if expected != actual {
                return nil
            }
        }
        return parameters
    }
}
