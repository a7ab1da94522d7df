import HTTP1
import Telemetry

/// A complete, fixed-length response: what non-streaming handlers return and `ResponseWriter.send` writes.
public struct HTTPResponse: Sendable {
    public var status: HTTPStatus
    public var headers: HTTPHeaders
    public var body: [UInt8]

    public init(status: HTTPStatus = .ok, headers: HTTPHeaders = HTTPHeaders(), body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// A `text/plain; charset=utf-8` response.
    public static func text(_ text: String, status: HTTPStatus = .ok) -> HTTPResponse {
        HTTPResponse(status: status, headers: ["Content-Type": "text/plain; charset=utf-8"], body: Array(text.utf8))
    }

    /// An `application/json` response from already-encoded JSON bytes.
    public static func json(_ body: [UInt8], status: HTTPStatus = .ok) -> HTTPResponse {
        HTTPResponse(status: status, headers: ["Content-Type": "application/json"], body: body)
    }

    /// An OpenAI-style JSON error response: `{"error":{"message","type","param","code"}}`.
    public static func error(_ error: HTTPError) -> HTTPResponse {
        var response = HTTPResponse.json(error.jsonBody, status: error.status)
        for field in error.headers { response.headers.add(name: field.name, value: field.value) }
        return response
    }
}

/// An error that becomes an OpenAI-style JSON error response; handlers and middleware throw it (or the
/// server builds it for its own 400/404/405/413/503... answers).
///
/// Body shape: `{"error":{"message":"...","type":"invalid_request_error","param":null,"code":"not_found"}}`.
public struct HTTPError: Error, Sendable, Equatable {
    public var status: HTTPStatus
    public var message: String
    /// OpenAI error type; defaults by status (`invalid_request_error` for 4xx, `server_error` for 5xx).
    public var type: String
    /// Machine-readable code, or nil (`null`).
    public var code: String?
    /// Name of the offending request parameter, or nil (`null`).
    public var param: String?
    /// Extra response headers (e.g. `Allow`, `WWW-Authenticate`).
    public var headers: HTTPHeaders

    public init(
        status: HTTPStatus, message: String, type: String? = nil, code: String? = nil, param: String? = nil,
        headers: HTTPHeaders = HTTPHeaders()
    ) {
        self.status = status
        self.message = message
        self.type = type ?? (status.code >= 500 ? "server_error" : "invalid_request_error")
        self.code = code
        self.param = param
        self.headers = headers
    }

    /// The error for a request the parser rejected.
    public init(parseError: HTTP1Error) {
        let code: String
        switch parseError {
        case .malformed: code = "bad_request"
        case .bodyTooLarge: code = "request_too_large"
        case .uriTooLong: code = "uri_too_long"
        case .headersTooLarge: code = "headers_too_large"
        case .unsupportedTransferCoding: code = "not_implemented"
        case .unsupportedVersion: code = "http_version_not_supported"
        }
        self.init(status: parseError.status, message: parseError.description, code: code)
    }

    /// Encoded JSON body.
    public var jsonBody: [UInt8] {
        let codeJSON = code.map(Logger.jsonString) ?? "null"
        let paramJSON = param.map(Logger.jsonString) ?? "null"
        let text =
            "{\"error\":{\"message\":\(Logger.jsonString(message)),\"type\":\(Logger.jsonString(type))"
            + ",\"param\":\(paramJSON),\"code\":\(codeJSON)}}"
        return Array(text.utf8)
    }
}
