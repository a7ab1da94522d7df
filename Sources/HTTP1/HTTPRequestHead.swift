/// Request line and header fields of one request, produced by `HTTPRequestParser` before its body.
///
/// Invariants: `method` is a valid token, `version.major == 1`, `path` starts with `/` (or is `*`),
/// `bodyLength` is the framing the parser uses for the body that follows.
public struct HTTPRequestHead: Sendable, Hashable {
    /// How the body of the request is delimited (RFC 9112 §6.3).
    public enum BodyLength: Sendable, Hashable {
        /// `Content-Length` bytes follow (0 when the request has no body headers).
        case fixed(Int)
        /// `Transfer-Encoding: chunked`; the decoded length is known only at the end.
        case chunked
    }

    public var method: HTTPMethod
    /// Request target exactly as sent (origin-form `/v1/models?x=1`, absolute-form, or `*`).
    public var target: String
    /// Path component of the target, still percent-encoded (`/v1/models`).
    public var path: String
    /// Query component without the `?`, or nil when the target has none.
    public var query: String?
    public var version: HTTPVersion
    public var headers: HTTPHeaders
    public var bodyLength: BodyLength

    public init(
        method: HTTPMethod, target: String, version: HTTPVersion, headers: HTTPHeaders,
        bodyLength: BodyLength = .fixed(0)
    ) {
        self.method = method
        self.target = target
        self.version = version
        self.headers = headers
        self.bodyLength = bodyLength
        (self.path, self.query) = HTTPRequestHead.splitTarget(target)
    }

    /// Whether the connection may carry another request after this one: HTTP/1.1 unless
    /// `Connection: close`; HTTP/1.0 only with `Connection: keep-alive` (RFC 9112 §9.3).
    public var isKeepAlive: Bool {
        let tokens = headers.tokens(for: "Connection")
        if version.minor >= 1 && version.major == 1 {
            return !tokens.contains("close")
        }
        return tokens.contains("keep-alive") && !tokens.contains("close")
    }

    /// Whether the client sent `Expect: 100-continue` on HTTP/1.1 and waits for an interim response
    /// before sending its body.
    public var expectsContinue: Bool {
        version == .http1_1 && headers.tokens(for: "Expect").contains("100-continue")
    }

    /// Splits a request target into path and query; absolute-form targets keep only their path.
    static func splitTarget(_ target: String) -> (String, String?) {
        var rest = Substring(target)
        if let schemeEnd = rest.firstRange(of: "://") {
            let afterAuthority = rest[schemeEnd.upperBound...]
            if let slash = afterAuthority.firstIndex(where: { $0 == "/" || $0 == "?" }) {
                rest = afterAuthority[slash...]
            } else {
                rest = "/"
            }
        }
        if let questionMark = rest.firstIndex(of: "?") {
            var path = String(rest[..<questionMark])
            if path.isEmpty { path = "/" }
            return (path, String(rest[rest.index(after: questionMark)...]))
        }
        return (String(rest), nil)
    }
}
