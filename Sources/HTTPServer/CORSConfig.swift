import HTTP1

/// Cross-origin policy for browser clients (Fetch standard, CORS protocol): which origins may call the
/// API and what a preflight answers.
public struct CORSConfig: Sendable {
    /// Allowed origins (`https://app.example`), or `["*"]` for any. Default `["*"]`.
    public var allowedOrigins: [String] = ["*"]
    /// Methods announced in preflight answers. Default GET, POST, OPTIONS.
    public var allowedMethods: [String] = ["GET", "POST", "OPTIONS"]
    /// Request headers announced in preflight answers. Default Authorization, Content-Type, X-Request-Id.
    public var allowedHeaders: [String] = ["Authorization", "Content-Type", "X-Request-Id"]
    /// Response headers readable by scripts. Default X-Request-Id.
    public var exposedHeaders: [String] = ["X-Request-Id"]
    /// Preflight cache lifetime in seconds. Default 600.
    public var maxAgeSeconds: Int = 600

    public init() {}

    func allows(_ origin: String) -> Bool {
        allowedOrigins.contains("*") || allowedOrigins.contains(origin)
    }
}

extension HTTPMiddleware {
    /// Adds CORS headers for allowed origins and answers preflight `OPTIONS` requests with 204 (403 for an
    /// origin that is not allowed).
    public static func cors(_ config: CORSConfig) -> HTTPMiddleware {
        HTTPMiddleware { request, writer, next in
            guard let origin = request.headers["Origin"] else {
                try await next(request, writer)
                return
            }
            let isAllowed = config.allows(origin)
            let isPreflight = request.method == .options && request.headers.contains("Access-Control-Request-Method")
            if isPreflight {
                guard isAllowed else {
                    throw HTTPError(
                        status: .forbidden, message: "origin \(origin) is not allowed", code: "cors_rejected")
                }
                var headers: HTTPHeaders = [
                    "Access-Control-Allow-Origin": config.allowedOrigins.contains("*") ? "*" : origin,
                    "Access-Control-Allow-Methods": config.allowedMethods.joined(separator: ", "),
                    "Access-Control-Allow-Headers": config.allowedHeaders.joined(separator: ", "),
                    "Access-Control-Max-Age": String(config.maxAgeSeconds),
                ]
                if !config.allowedOrigins.contains("*") { headers.add(name: "Vary", value: "Origin") }
                try await writer.send(HTTPResponse(status: .noContent, headers: headers))
                return
            }
            if isAllowed {
                writer.addHeader(
                    name: "Access-Control-Allow-Origin", value: config.allowedOrigins.contains("*") ? "*" : origin)
                if !config.exposedHeaders.isEmpty {
                    writer.addHeader(
                        name: "Access-Control-Expose-Headers", value: config.exposedHeaders.joined(separator: ", "))
                }
                if !config.allowedOrigins.contains("*") { writer.addHeader(name: "Vary", value: "Origin") }
            }
            try await next(request, writer)
        }
    }
}
