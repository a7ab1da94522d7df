import HTTP1

/// A complete request as handed to routes and middleware: head, fully received body, and connection facts.
///
/// The server reads the whole body (bounded by `HTTPLimits.maxBodyBytes`) before calling the handler.
/// Middleware may pass a modified copy down the chain (e.g. the request-id middleware sets `requestID`).
public struct HTTPRequest: Sendable {
    public var method: HTTPMethod
    /// Request target as sent (`/v1/models?limit=2`).
    public var target: String
    /// Path, still percent-encoded (`/v1/models`).
    public var path: String
    /// Raw query without `?`, or nil.
    public var query: String?
    public var version: HTTPVersion
    public var headers: HTTPHeaders
    /// Decoded body bytes (empty when the request had none).
    public var body: [UInt8]
    /// Trailer fields of a chunked body.
    public var trailers: HTTPHeaders
    /// Peer address as `ip:port` (`[ip]:port` for IPv6).
    public var remoteAddress: String
    /// Whether the request arrived over TLS.
    public var isTLS: Bool
    /// Request id: set by the request-id middleware (echoed `X-Request-Id` or generated); empty otherwise.
    public var requestID: String
    /// Route pattern that matched (`/v1/models/{model}`), or nil when no route matched.
    public var route: String?
    /// Values of `{name}` segments of the matched route.
    public var pathParameters: [String: String]

    public init(
        method: HTTPMethod, target: String, version: HTTPVersion = .http1_1, headers: HTTPHeaders = HTTPHeaders(),
        body: [UInt8] = [], trailers: HTTPHeaders = HTTPHeaders(), remoteAddress: String = "", isTLS: Bool = false,
        requestID: String = ""
    ) {
        let head = HTTPRequestHead(method: method, target: target, version: version, headers: headers)
        self.method = method
        self.target = target
        self.path = head.path
        self.query = head.query
        self.version = version
        self.headers = headers
        self.body = body
        self.trailers = trailers
        self.remoteAddress = remoteAddress
        self.isTLS = isTLS
        self.requestID = requestID
        self.route = nil
        self.pathParameters = [:]
    }

    /// Body decoded as UTF-8 (invalid sequences replaced).
    public var bodyText: String { String(decoding: body, as: UTF8.self) }

    /// Query parameters, percent- and `+`-decoded; the first occurrence of a name wins.
    public var queryParameters: [String: String] {
        guard let query else { return [:] }
        var result: [String: String] = [:]
        for pair in query.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = HTTPRequest.percentDecode(parts[0])
            if result[name] == nil {
                result[name] = parts.count > 1 ? HTTPRequest.percentDecode(parts[1]) : ""
            }
        }
        return result
    }

    /// Decodes `%XX` escapes (and `+` as space when `plusAsSpace`, as in query strings).
    static func percentDecode(_ text: Substring, plusAsSpace: Bool = true) -> String {
        var bytes: [UInt8] = []
        var utf8 = text.utf8[...]
        while let byte = utf8.popFirst() {
            if byte == UInt8(ascii: "+") && plusAsSpace {
                bytes.append(0x20)
            } else if byte == UInt8(ascii: "%"), utf8.count >= 2,
                let high = hexDigit(utf8[utf8.startIndex]),
                let low = hexDigit(utf8[utf8.index(after: utf8.startIndex)])
            {
                bytes.append(high << 4 | low)
                utf8 = utf8.dropFirst(2)
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func hexDigit(_ byte: UInt8) -> UInt8? {
        switch byte {
        case 0x30...0x39: byte - 0x30
        case 0x41...0x46: byte - 0x41 + 10
        case 0x61...0x66: byte - 0x61 + 10
        default: nil
        }
    }
}
