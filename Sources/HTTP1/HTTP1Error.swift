/// Why a request could not be parsed; each case knows the status the server answers with before closing.
public enum HTTP1Error: Error, Sendable, Hashable, CustomStringConvertible {
    /// Syntax error in the request line, a header, chunk framing or body framing (400).
    case malformed(String)
    /// The declared or decoded body exceeds `HTTPLimits.maxBodyBytes` (413).
    case bodyTooLarge(limit: Int)
    /// The request target exceeds `HTTPLimits.maxURILength` (414).
    case uriTooLong(limit: Int)
    /// The head or trailers exceed `maxHeaderBytes` or `maxNumHeaders` (431).
    case headersTooLarge(limit: Int)
    /// A transfer coding other than `chunked` was requested (501).
    case unsupportedTransferCoding(String)
    /// The request line names a protocol version other than HTTP/1.x (505).
    case unsupportedVersion(String)

    /// Status the server sends for this error.
    public var status: HTTPStatus {
        switch self {
        case .malformed: .badRequest
        case .bodyTooLarge: .payloadTooLarge
        case .uriTooLong: .uriTooLong
        case .headersTooLarge: .requestHeaderFieldsTooLarge
        case .unsupportedTransferCoding: .notImplemented
        case .unsupportedVersion: .httpVersionNotSupported
        }
    }

    public var description: String {
        switch self {
        case .malformed(let reason): "malformed request: \(reason)"
        case .bodyTooLarge(let limit): "request body exceeds \(limit) bytes"
        case .uriTooLong(let limit): "request target exceeds \(limit) bytes"
        case .headersTooLarge(let limit): "request header section exceeds the limit (\(limit))"
        case .unsupportedTransferCoding(let coding): "unsupported transfer coding '\(coding)'"
        case .unsupportedVersion(let version): "unsupported protocol version '\(version)'"
        }
    }
}
