import HTTPTestSupport
import HTTP1
import HTTPServer
import Telemetry
import Testing

@Suite("HTTPServer basics")
struct ServerBasicsTests {
    @Test("serves several requests on one keep-alive connection and reports the bound port")
    func keepAlive() async throws {
        try await withServer(router: makeTestRouter()) { server, port in
            #expect(port > 0 && port == server.boundPort)
            let statuses = try await blocking {
                let client = try TestClient(port: port)
                return try (0..<3).map { _ in
                    let response = try client.request("GET", "/hello")
                    return "\(response.status) \(response.text) \(response.headers["Connection"] ?? "-")"
                }
            }
            #expect(statuses == Array(repeating: "200 hello -", count: 3))
            #expect(server.numAcceptedConnections == 1)
        }
    }

    @Test("answers pipelined requests in order even when the first is slowest")
    func pipelining() async throws {
        try await withServer(router: makeTestRouter()) { _, port in
            let bodies = try await blocking {
                let client = try TestClient(port: port)
                try client.send(
                    "GET /slow/80 HTTP/1.1\r\nHost: t\r\n\r\nGET /hello HTTP/1.1\r\nHost: t\r\n\r\n"
                        + "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\n\r\nping")
                return try (0..<3).map { _ in try client.readResponse().text }
            }
            #expect(bodies == ["slept 80", "hello", "ping"])
        }
    }

    @Test("decodes a chunked upload with trailers")
    func chunkedUpload() async throws {
        try await withServer(router: makeTestRouter()) { _, port in
            let response = try await blocking {
                let client = try TestClient(port: port)
                try client.send("POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n")
                try client.send("6\r\nchunk-\r\n")
                try client.send("a;ext=1\r\nuploaded!!\r\n0\r\nX-Sum: 1\r\n\r\n")
                return try client.readResponse()
            }
            #expect(response.status == 200)
            #expect(response.text == "chunk-uploaded!!")
        }
    }

    @Test("sends 100 Continue before reading an expected body")
    func expectContinue() async throws {
        try await withServer(router: makeTestRouter()) { _, port in
            let (interim, final) = try await blocking {
                let client = try TestClient(port: port)
                try client.send("POST /echo HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n")
                let (interim, _) = try client.readHead()
                try client.send("hello")
                return (interim, try client.readResponse())
            }
            #expect(interim == 100)
            #expect(final.status == 200 && final.text == "hello")
        }
    }

    @Test("refuses a body over the limit with 413 and an OpenAI error body, then closes")
    func bodyTooLarge() async throws {
        var config = HTTPServerConfig()
        config.limits.maxBodyBytes = 1000
        try await withServer(config: config, router: makeTestRouter()) { _, port in
            let (response, closed) = try await blocking {
                let client = try TestClient(port: port)
                try client.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5000\r\n\r\n")
                try? client.send(String(repeating: "x", count: 5000))
                let response = try client.readResponse()
                return (response, client.waitForClose())
            }
            #expect(response.status == 413)
            #expect(response.headers["Content-Type"] == "application/json")
            #expect(response.text.contains(#""type":"invalid_request_error""#))
            #expect(response.text.contains(#""code":"request_too_large""#))
            #expect(response.text.contains(#""param":null"#))
            #expect(closed)
        }
    }

    @Test("answers a malformed request with 400 and closes the connection")
    func malformed() async throws {
        try await withServer(router: makeTestRouter()) { _, port in
            let (response, closed) = try await blocking {
                let client = try TestClient(port: port)
                try client.send("GET /hello HTTP/1.1\r\nHost: t\r\nBad Header: 1\r\n\r\n")
                return (try client.readResponse(), client.waitForClose())
            }
            #expect(response.status == 400)
            #expect(response.headers["Connection"] == "close")
            #expect(closed)
        }
    }

    @Test("HTTP/1.0 requests get a response and the connection closes")
    func http10() async throws {
        try await withServer(router: makeTestRouter()) { _, port in
            let (response, closed) = try await blocking {
                let client = try TestClient(port: port)
                try client.send("GET /hello HTTP/1.0\r\n\r\n")
                return (try client.readResponse(), client.waitForClose())
            }
            #expect(response.status == 200 && response.text == "hello")
            #expect(closed)
        }
    }

    @Test("listens on IPv6 loopback")
    func ipv6() async throws {
        var config = HTTPServerConfig()
        config.host = "::1"
        let server = HTTPServer(
            config: config.withPort(0), router: makeTestRouter(), logger: .init(label: "t", level: .error))
        do {
            try server.start()
        } catch {
            print("note: IPv6 loopback unavailable here, skipping (\(error))")
            return
        }
        let port = server.boundPort
        let response = try await blocking {
            let client = try TestClient(port: port, host: "::1")
            return try client.request("GET", "/hello")
        }
        await server.shutdown(deadline: .seconds(1))
        #expect(response.text == "hello")
    }
}

extension HTTPServerConfig {
    func withPort(_ port: Int) -> HTTPServerConfig {
        var copy = self
        copy.port = port
        return copy
    }
}
