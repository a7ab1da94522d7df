import HTTPTestSupport
import HTTP1
import HTTPServer
import Telemetry
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@Suite("HTTPServer limits and timeouts")
struct ServerLimitsTests {
    @Test("times out a slowloris client that never finishes its head")
    func slowloris() async throws {
        var config = HTTPServerConfig()
        config.headReadTimeout = .milliseconds(200)
        try await withServer(config: config, router: makeTestRouter()) { server, port in
            let (status, closed) = try await blocking {
                let client = try TestClient(port: port)
                try client.send("GET /hello HTTP/1.1\r\nHost: t\r\nX-Slow: ")
                let (status, _) = try client.readHead()
                return (status, client.waitForClose())
            }
            #expect(status == 408)
            #expect(closed)
            #expect(await eventually { server.numOpenConnections == 0 })
        }
    }

    @Test("answers 408 when a request body stalls longer than the body read timeout")
    func bodyReadTimeout() async throws {
        var config = HTTPServerConfig()
        config.bodyReadTimeout = .milliseconds(150)
        try await withServer(config: config, router: makeTestRouter()) { _, port in
            let (status, closed) = try await blocking {
                let client = try TestClient(port: port)
                try client.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nabc")
                let response = try client.readResponse()
                return (response.status, client.waitForClose())
            }
            #expect(status == 408)
            #expect(closed)
        }
    }

    @Test("closes a keep-alive connection after the idle timeout")
    func idleTimeout() async throws {
        var config = HTTPServerConfig()
        config.idleTimeout = .milliseconds(150)
        try await withServer(config: config, router: makeTestRouter()) { _, port in
            let (status, closed) = try await blocking {
                let client = try TestClient(port: port)
                let status = try client.request("GET", "/hello").status
                return (status, client.waitForClose())
            }
            #expect(status == 200)
            #expect(closed)
        }
    }

    @Test("refuses connections beyond maxConnections with 503")
    func connectionLimit() async throws {
        var config = HTTPServerConfig()
        config.maxConnections = 2
        try await withServer(config: config, router: makeTestRouter()) { server, port in
            let first = try TestClient(port: port)
            let second = try TestClient(port: port)
            #expect(await eventually { server.numOpenConnections == 2 })
            let (response, closed) = try await blocking {
                let third = try TestClient(port: port)
                try? third.send("GET /hello HTTP/1.1\r\nHost: t\r\n\r\n")
                return (try third.readResponse(), third.waitForClose())
            }
            #expect(response.status == 503)
            #expect(response.text.contains(#""type":"server_error""#))
            #expect(closed)
            let stillServed = try await blocking { try first.request("GET", "/hello").status }
            #expect(stillServed == 200)
            _ = second
        }
    }

    @Test("serves 2,000 concurrent connections")
    func manyConnections() async throws {
        let numClients = 2000
        raiseOpenFileLimit(to: rlim_t(numClients * 2 + 512))
        var config = HTTPServerConfig()
        config.backlog = 4096
        config.numEventLoops = 2
        try await withServer(config: config, router: makeTestRouter()) { server, port in
            let clients = try await blocking { try (0..<numClients).map { _ in try TestClient(port: port) } }
            #expect(await eventually { server.numOpenConnections == numClients })
            let numOK = try await blocking {
                for client in clients { try client.send("GET /hello HTTP/1.1\r\nHost: t\r\n\r\n") }
                return try clients.map { client -> String in
                    let response = try client.readResponse()
                    return "\(response.status) \(response.text)"
                }
            }
            #expect(numOK.filter { $0 != "200 hello" } == [])
            #expect(numOK.count == numClients)
            #expect(server.numOpenConnections == numClients)
        }
    }

    @Test("a client that stops reading does not grow the server's buffer beyond the bound")
    func slowReaderBackpressure() async throws {
        var config = HTTPServerConfig()
        config.maxWriteBufferBytes = 64 * 1024
        let chunk = [UInt8](repeating: UInt8(ascii: "z"), count: 16 * 1024)
        let numChunks = 1024  // 16 MiB, several times what kernel socket buffers can hold
        let numWritten = Box(0)
        let router = Router()
        router.add(.get, "/firehose") { _, writer in
            try writer.writeHead(status: .ok, headers: ["Content-Type": "application/octet-stream"])
            for _ in 0..<numChunks {
                try await writer.write(chunk)
                numWritten.update { $0 += chunk.count }
            }
            writer.finish()
        }
        try await withServer(config: config, router: router) { server, port in
            let client = try TestClient(port: port, receiveBufferSize: 16 * 1024)
            try client.send("GET /firehose HTTP/1.1\r\nHost: t\r\n\r\n")
            // Wait until the producer stalls (no progress for 200 ms) while the client reads nothing.
            var last = -1
            while numWritten.value != last {
                last = numWritten.value
                try await Task.sleep(for: .milliseconds(200))
            }
            #expect(numWritten.value < numChunks * chunk.count)
            let response = try await blocking { try client.readResponse() }
            #expect(response.body.count == numChunks * chunk.count)
            #expect(numWritten.value == numChunks * chunk.count)
            let bound = config.maxWriteBufferBytes + chunk.count + 1024
            #expect(server.peakBufferedBytesPerConnection <= bound)
        }
    }

    @Test("closes a connection whose client stops reading for longer than the write timeout")
    func writeTimeout() async throws {
        var config = HTTPServerConfig()
        config.writeTimeout = .milliseconds(200)
        config.maxWriteBufferBytes = 16 * 1024
        let failure = Box<String?>(nil)
        let router = Router()
        router.add(.get, "/firehose") { _, writer in
            try writer.writeHead(status: .ok)
            do {
                while true { try await writer.write([UInt8](repeating: 1, count: 16 * 1024)) }
            } catch {
                failure.value = "\(error)"
            }
        }
        try await withServer(config: config, router: router) { server, port in
            let client = try TestClient(port: port, receiveBufferSize: 8 * 1024)
            try client.send("GET /firehose HTTP/1.1\r\nHost: t\r\n\r\n")
            #expect(await eventually { failure.value != nil })
            #expect(failure.value == "connection closed")
            #expect(await eventually { server.numOpenConnections == 0 })
            _ = client
        }
    }
}

/// Raises the soft open-file limit (up to the hard limit) so a test can hold many sockets.
func raiseOpenFileLimit(to wanted: rlim_t) {
    var limit = rlimit()
    guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur < wanted else { return }
    limit.rlim_cur = min(wanted, limit.rlim_max)
    _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
}
