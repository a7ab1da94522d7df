/// Status line and header fields of a response, as handed to `HTTPResponseEncoder`.
public struct HTTPResponseHead: Sendable, Hashable {
    public var status: HTTPStatus
    public var headers: HTTPHeaders
    public var version: HTTPVersion

    public init(status: HTTPStatus, headers: HTTPHeaders = HTTPHeaders(), version: HTTPVersion = .http1_1) {
        self.status = status
        self.headers = headers
        self.version = version
    }
}

/// Serialises responses to HTTP/1.1 wire bytes: the last stage before a connection's write buffer.
///
/// The encoder is stateless; the caller chooses the framing by the headers it passes (a `Content-Length`
/// for a fixed body, `Transfer-Encoding: chunked` followed by `chunk(_:)` calls and one `lastChunk`).
/// Header names and values are written as given; values containing CR or LF are a programmer bug.
public enum HTTPResponseEncoder {
    /// Status line, header lines and the blank line.
    public static func encodeHead(_ head: HTTPResponseHead) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(64 + head.headers.count * 32)
        appendHead(head, to: &out)
        return out
    }

    /// Appends the status line, header lines and blank line of `head` to `out`.
    public static func appendHead(_ head: HTTPResponseHead, to out: inout [UInt8]) {
        out.append(contentsOf: "HTTP/\(head.version.major).\(head.version.minor) \(head.status.code) ".utf8)
        out.append(contentsOf: head.status.reasonPhrase.utf8)
        out.append(contentsOf: crlf)
        for field in head.headers {
            precondition(!field.value.utf8.contains(where: { $0 == 0x0D || $0 == 0x0A }), "CR/LF in header value")
            out.append(contentsOf: field.name.utf8)
            out.append(contentsOf: colonSpace)
            out.append(contentsOf: field.value.utf8)
            out.append(contentsOf: crlf)
        }
        out.append(contentsOf: crlf)
    }

    /// A complete fixed-length response: head with `Content-Length` set to `body.count`, then the body.
    public static func encode(_ head: HTTPResponseHead, body: [UInt8]) -> [UInt8] {
        var head = head
        head.headers.remove(name: "Transfer-Encoding")
        if !head.status.forbidsBody {
            head.headers.replaceOrAdd(name: "Content-Length", value: String(body.count))
        }
        var out = encodeHead(head)
        if !head.status.forbidsBody { out.append(contentsOf: body) }
        return out
    }

    /// One chunk of a chunked body: hex size line, data, CRLF. An empty `data` encodes nothing (an empty
    /// chunk would end the body; use `lastChunk` for that).
    public static func chunk(_ data: some Collection<UInt8>) -> [UInt8] {
        guard !data.isEmpty else { return [] }
        var out: [UInt8] = []
        out.reserveCapacity(data.count + 12)
        out.append(contentsOf: String(data.count, radix: 16).utf8)
        out.append(contentsOf: crlf)
        out.append(contentsOf: data)
        out.append(contentsOf: crlf)
        return out
    }

    /// The zero-size chunk ending a chunked body, with optional trailer fields.
    public static func lastChunk(trailers: HTTPHeaders = HTTPHeaders()) -> [UInt8] {
        var out = Array("0\r\n".utf8)
        for field in trailers {
            out.append(contentsOf: "\(field.name): \(field.value)\r\n".utf8)
        }
        out.append(contentsOf: crlf)
        return out
    }

    /// The interim `100 Continue` response sent before reading an expected body.
    public static let continueResponse: [UInt8] = Array("HTTP/1.1 100 Continue\r\n\r\n".utf8)

    static let crlf: [UInt8] = [0x0D, 0x0A]
    static let colonSpace: [UInt8] = [0x3A, 0x20]
}
