import HTTP1

#if canImport(Glibc)
    import Glibc
#endif

/// A response as read off the wire by `TestClient`.
public struct TestResponse: Sendable {
    public var status: Int
    public var headers: HTTPHeaders
    public var body: [UInt8]
    public var text: String { String(decoding: body, as: UTF8.self) }
}

public struct TestClientError: Error, CustomStringConvertible {
    public var description: String
    public init(description: String) { self.description = description }
}

/// Minimal blocking HTTP/1.1 client over a raw socket, so tests can send exactly the bytes they want
/// (hostile, partial, pipelined) and observe how the server answers and closes. Used by one thread at a time.
public final class TestClient: @unchecked Sendable {
    public let fd: Int32
    /// Bytes received but not yet consumed.
    public var buffer: [UInt8] = []
    private(set) var isAtEOF = false

    /// `timeoutSeconds` bounds each blocking send/receive. It is generous because it only matters when a
    /// test fails: handlers run on the shared cooperative pool, which other test targets running in
    /// parallel in the same process can keep busy for seconds.
    public init(port: Int, host: String = "127.0.0.1", receiveBufferSize: Int32? = nil, timeoutSeconds: Int = 30) throws {
        fd = try TestClient.connectSocket(
            port: port, host: host, receiveBufferSize: receiveBufferSize, timeoutSeconds: timeoutSeconds)
    }

    /// Opens a connected blocking socket (closed again here if connecting fails, so no descriptor is
    /// ever closed twice).
    private static func connectSocket(port: Int, host: String, receiveBufferSize: Int32?, timeoutSeconds: Int) throws
        -> Int32
    {
        let isIPv6 = host.contains(":")
        let fd = socket(isIPv6 ? AF_INET6 : AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestClientError(description: "socket failed: \(errno)") }
        if let receiveBufferSize {
            var size = receiveBufferSize
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        }
        var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let result: Int32
        if isIPv6 {
            var address = sockaddr_in6()
            address.sin6_family = sa_family_t(AF_INET6)
            address.sin6_port = UInt16(port).bigEndian
            inet_pton(AF_INET6, host, &address.sin6_addr)
            result = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size))
                }
            }
        } else {
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = UInt16(port).bigEndian
            inet_pton(AF_INET, host, &address.sin_addr)
            result = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
        }
        guard result == 0 else {
            let code = errno
            Glibc.close(fd)
            throw TestClientError(description: "connect failed: \(code)")
        }
        return fd
    }

    deinit { Glibc.close(fd) }

    public func send(_ text: String) throws { try send(Array(text.utf8)) }

    public func send(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let count = bytes[offset...].withUnsafeBytes {
                Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL))
            }
            guard count > 0 else { throw TestClientError(description: "send failed: \(errno)") }
            offset += count
        }
    }

    /// Reads more bytes into `buffer`; false at end of stream, error or timeout.
    @discardableResult
    public func fill() -> Bool {
        var chunk = [UInt8](repeating: 0, count: 65536)
        let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if count <= 0 {
            isAtEOF = true
            return false
        }
        buffer.append(contentsOf: chunk[0..<count])
        return true
    }

    /// Reads one line (without CRLF) from the buffer.
    public func readLine() throws -> String {
        while true {
            if let index = buffer.firstIndex(of: 0x0A) {
                var line = Array(buffer[0..<index])
                buffer.removeSubrange(0...index)
                if line.last == 0x0D { line.removeLast() }
                return String(decoding: line, as: UTF8.self)
            }
            guard fill() else { throw TestClientError(description: "connection ended inside a line") }
        }
    }

    public func readBytes(_ count: Int) throws -> [UInt8] {
        while buffer.count < count {
            guard fill() else { throw TestClientError(description: "connection ended inside a body") }
        }
        let bytes = Array(buffer[0..<count])
        buffer.removeSubrange(0..<count)
        return bytes
    }

    /// Reads the status line and headers; interim 1xx heads are returned like any other.
    public func readHead() throws -> (Int, HTTPHeaders) {
        let statusLine = try readLine()
        let parts = statusLine.split(separator: " ")
        guard parts.count >= 2, let status = Int(parts[1]) else {
            throw TestClientError(description: "bad status line '\(statusLine)'")
        }
        var headers = HTTPHeaders()
        while true {
            let line = try readLine()
            if line.isEmpty { break }
            guard let colon = line.firstIndex(of: ":") else { continue }
            let value = line[line.index(after: colon)...].drop { $0 == " " }
            headers.add(name: String(line[..<colon]), value: String(value))
        }
        return (status, headers)
    }

    /// Reads one final response (skipping 100 Continue) including its body.
    public func readResponse(isHead: Bool = false) throws -> TestResponse {
        var (status, headers) = try readHead()
        while status == 100 { (status, headers) = try readHead() }
        var body: [UInt8] = []
        if isHead || status == 204 || status == 304 {
        } else if let length = headers["Content-Length"].flatMap({ Int($0) }) {
            body = try readBytes(length)
        } else if headers["Transfer-Encoding"] == "chunked" {
            while true {
                let sizeLine = try readLine()
                guard let size = Int(sizeLine.split(separator: ";")[0], radix: 16) else {
                    throw TestClientError(description: "bad chunk size '\(sizeLine)'")
                }
                if size == 0 {
                    while try !readLine().isEmpty {}
                    break
                }
                body += try readBytes(size)
                _ = try readLine()
            }
        } else {
            while fill() {}
            body = buffer
            buffer = []
        }
        return TestResponse(status: status, headers: headers, body: body)
    }

    /// Sends a request and reads its response.
    public func request(_ method: String, _ path: String, headers: [String] = [], body: String? = nil) throws -> TestResponse {
        var text = "\(method) \(path) HTTP/1.1\r\nHost: test\r\n"
        for header in headers { text += header + "\r\n" }
        if let body { text += "Content-Length: \(body.utf8.count)\r\n" }
        text += "\r\n" + (body ?? "")
        try send(text)
        return try readResponse(isHead: method == "HEAD")
    }

    /// Whether the server closes the connection (EOF or reset) before the receive timeout; discards data.
    public func waitForClose() -> Bool {
        while true {
            var chunk = [UInt8](repeating: 0, count: 65536)
            let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count > 0 { continue }
            if count == 0 { return true }
            return errno == ECONNRESET
        }
    }
}
