import HTTP1
import Telemetry

/// A step wrapped around every routed request (request ids, access log, auth, CORS, metrics); it may
/// change the request, add response headers, answer on its own, or call `next`.
public struct HTTPMiddleware: Sendable {
    /// The rest of the chain (inner middleware, then the route handler).
    public typealias Next = @Sendable (HTTPRequest, ResponseWriter) async throws -> Void

    let handle: @Sendable (HTTPRequest, ResponseWriter, Next) async throws -> Void

    public init(_ handle: @escaping @Sendable (HTTPRequest, ResponseWriter, Next) async throws -> Void) {
        self.handle = handle
    }
}

/// One finished request as reported to the metrics hook.
public struct RequestMetricsSample: Sendable {
    public var method: String
    /// Route pattern (`/v1/models/{model}`), or `unmatched`, so label cardinality stays bounded.
    public var route: String
    public var status: Int
    public var numBodyBytes: Int
    public var duration: Duration

    public init(method: String, route: String, status: Int, numBodyBytes: Int, duration: Duration) {
        self.method = method
        self.route = route
        self.status = status
        self.numBodyBytes = numBodyBytes
        self.duration = duration
    }
}

extension HTTPMiddleware {
    /// Echoes a sane incoming `X-Request-Id` (<= 128 visible ASCII characters) or generates a random one;
    /// sets `HTTPRequest.requestID` and the response header.
    public static func requestID(header: String = "X-Request-Id") -> HTTPMiddleware {
        HTTPMiddleware { request, writer, next in
            var request = request
            if let incoming = request.headers[header], !incoming.isEmpty, incoming.utf8.count <= 128,
                incoming.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F })
            {
                request.requestID = incoming
            } else {
                request.requestID = generateRequestID()
            }
            writer.addHeader(name: header, value: request.requestID)
            try await next(request, writer)
        }
    }

    /// Random 128-bit id as 32 lower-case hex digits.
    public static func generateRequestID() -> String {
        var generator = SystemRandomNumberGenerator()
        let high = String(generator.next() as UInt64, radix: 16)
        let low = String(generator.next() as UInt64, radix: 16)
        return String(repeating: "0", count: 16 - high.count) + high + String(repeating: "0", count: 16 - low.count)
            + low
    }

    /// Writes one `info` line per request after it completes: method, path, status, body bytes, duration,
    /// request id, remote address.
    public static func accessLog(_ logger: Logger) -> HTTPMiddleware {
        HTTPMiddleware { request, writer, next in
            let start = ContinuousClock.now
            defer {
                let elapsed = ContinuousClock.now - start
                let millis =
                    Double(elapsed.components.seconds) * 1000
                    + Double(elapsed.components.attoseconds) / 1e15
                logger.log(
                    .info, "request",
                    metadata: [
                        ("method", request.method.rawValue), ("path", request.path),
                        ("status", writer.status.map { String($0.code) } ?? (writer.isClosed ? "aborted" : "-")),
                        ("bytes", String(writer.numBodyBytesWritten)),
                        ("duration_ms", String((millis * 1000).rounded() / 1000)),
                        ("request_id", request.requestID), ("remote", request.remoteAddress),
                    ])
            }
            try await next(request, writer)
        }
    }

    /// Calls `hook` once per completed request (for the daemon's HTTP metrics).
    public static func metrics(_ hook: @escaping @Sendable (RequestMetricsSample) -> Void) -> HTTPMiddleware {
        HTTPMiddleware { request, writer, next in
            let start = ContinuousClock.now
            defer {
                hook(
                    RequestMetricsSample(
                        method: request.method.rawValue, route: request.route ?? "unmatched",
                        status: writer.status?.code ?? 499, numBodyBytes: writer.numBodyBytesWritten,
                        duration: ContinuousClock.now - start))
            }
            try await next(request, writer)
        }
    }

    /// Requires `Authorization: Bearer <key>` matching one of `keys` (compared in constant time), except
    /// for `openPaths` (exact paths such as `/health`) and CORS preflights. Failure answers 401 with the
    /// OpenAI error body (`code: invalid_api_key`). An empty `keys` disables the check.
    public static func bearerAuth(keys: [String], openPaths: Set<String> = ["/health", "/ready", "/metrics"])
        -> HTTPMiddleware
    {
        let keyBytes = keys.map { Array($0.utf8) }
        return HTTPMiddleware { request, writer, next in
            if keyBytes.isEmpty || openPaths.contains(request.path) || request.method == .options {
                try await next(request, writer)
                return
            }
            var presented: [UInt8] = []
            if let value = request.headers["Authorization"], value.count > 7,
                value.prefix(7).lowercased() == "bearer "
            {
                presented = Array(value.dropFirst(7).utf8)
            }
            var isValid = false
            for key in keyBytes where constantTimeEqual(presented, key) { isValid = true }
            guard isValid else {
                throw HTTPError(
                    status: .unauthorized, message: "invalid or missing API key", code: "invalid_api_key",
                    headers: ["WWW-Authenticate": "Bearer"])
            }
            try await next(request, writer)
        }
    }

    /// Compares two byte strings in time that depends only on their lengths.
    public static func constantTimeEqual(_ lhs: [UInt8], _ rhs: [UInt8]) -> Bool {
        var difference = UInt8(truncatingIfNeeded: lhs.count ^ rhs.count)
        difference |= lhs.count == rhs.count ? 0 : 1
        let count = max(lhs.count, rhs.count)
        for index in 0..<count {
            let left = index < lhs.count ? lhs[index] : 0
            let right = index < rhs.count ? rhs[index] : 0
            difference |= left ^ right
        }
        return difference == 0
    }
}
