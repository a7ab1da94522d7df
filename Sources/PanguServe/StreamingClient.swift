import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A minimal blocking HTTP/1.1 client for `bench serve`: sends one POST and
/// reads a chunked server-sent-event stream, timing each `data:` event.
struct StreamingClient {
    let host: String
    let port: Int

    /// What one streamed request saw.
    struct Trace {
        var start: Double
        /// Arrival time of every event that carried generated text.
        var tokenTimes: [Double] = []
        var completionTokens = 0
        var error: String?
    }

    static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    func post(path: String, json: [String: Any]) -> Trace {
        var trace = Trace(start: Self.now())
        guard let body = try? JSONSerialization.data(withJSONObject: json) else {
            trace.error = "cannot encode the request"
            return trace
        }
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else {
            trace.error = "socket: \(String(cString: strerror(errno)))"
            return trace
        }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        inet_pton(AF_INET, host, &address.sin_addr)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else {
            trace.error = "connect: \(String(cString: strerror(errno)))"
            return trace
        }
        let head =
            "POST \(path) HTTP/1.1\r\nHost: \(host)\r\nContent-Type: application/json\r\n"
            + "Content-Length: \(body.count)\r\nConnection: close\r\n\r\n"
        let request = Array(head.utf8) + Array(body)
        guard request.withUnsafeBytes({ send(fd, $0.baseAddress, $0.count, 0) }) == request.count else {
            trace.error = "send failed"
            return trace
        }
        readEvents(fd: fd, into: &trace)
        return trace
    }

    /// Reads until the peer closes; each `data:` line with text counts as one token event.
    private func readEvents(fd: Int32, into trace: inout Trace) {
        var pending = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 16384)
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { break }
            let time = Self.now()
            pending += buffer[0..<n]
            while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: pending[..<newline], as: UTF8.self)
                pending.removeSubrange(...newline)
                guard line.hasPrefix("data: "), !line.hasPrefix("data: [DONE]") else { continue }
                if line.contains("\"error\"") && !line.contains("\"choices\"") {
                    trace.error = String(line.dropFirst(6))
                } else if line.contains("\"text\":\""), !line.contains("\"text\":\"\"") {
                    trace.tokenTimes.append(time)
                }
                if let range = line.range(of: "\"completion_tokens\":") {
                    let digits = line[range.upperBound...].prefix { $0.isNumber }
                    trace.completionTokens = Int(digits) ?? trace.completionTokens
                }
            }
        }
    }
}
