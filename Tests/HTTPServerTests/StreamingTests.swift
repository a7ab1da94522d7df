import HTTPTestSupport
import HTTP1
import HTTPServer
import Telemetry
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@Suite("HTTPServer streaming")
struct StreamingTests {
    @Test("streams server-sent events as chunks")
    func serverSentEvents() async throws {
        let router = Router()
        router.add(.post, "/v1/completions") { _, writer in
            try writer.writeHead(status: .ok, headers: ["Content-Type": "text/event-stream"])
            for index in 0..<3 { try await writer.writeEvent(ServerSentEvent(data: "{\"i\":\(index)}")) }
            try await writer.writeEvent(.done)
            writer.finish()
        }
        try await withServer(router: router) { _, port in
            let response = try await blocking {
                try TestClient(port: port).request("POST", "/v1/completions", body: "{}")
            }
            #expect(response.headers["Transfer-Encoding"] == "chunked")
            #expect(response.text == "data: {\"i\":0}\n\ndata: {\"i\":1}\n\ndata: {\"i\":2}\n\ndata: [DONE]\n\n")
        }
    }

    @Test("many small writes queued behind a slow reader arrive complete and in order")
    func smallWritesInOrder() async throws {
        let numEvents = 5000
        let router = Router()
        router.add(.get, "/events") { _, writer in
            try writer.writeHead(status: .ok, headers: ["Content-Type": "text/event-stream"])
            for index in 0..<numEvents { try await writer.writeEvent(ServerSentEvent(data: String(index))) }
            writer.finish()
        }
        var config = HTTPServerConfig()
        config.maxWriteBufferBytes = 4096
        try await withServer(config: config, router: router) { _, port in
            let text = try await blocking {
                let client = try TestClient(port: port, receiveBufferSize: 4096)
                try client.send("GET /events HTTP/1.1\r\nHost: t\r\n\r\n")
                usleep(100_000)
                return try client.readResponse().text
            }
            let expected = (0..<numEvents).map { "data: \($0)\n\n" }.joined()
            #expect(text == expected)
        }
    }

    @Test("a streaming handler learns promptly that the client went away")
    func clientGoesAway() async throws {
        let closeNotified = Box(false)
        let writeError = Box<String?>(nil)
        let router = Router()
        router.add(.get, "/stream") { _, writer in
            writer.onClose { closeNotified.value = true }
            try writer.writeHead(status: .ok, headers: ["Content-Type": "text/event-stream"])
            do {
                while true {
                    try await writer.writeEvent(ServerSentEvent(data: "tick"))
                    try await Task.sleep(for: .milliseconds(10))
                }
            } catch {
                // Either the write fails or the cancelled task's sleep does, whichever comes first.
                writeError.value = error is CancellationError ? "cancelled" : "\(error)"
                #expect(writer.isClosed)
            }
        }
        try await withServer(router: router) { server, port in
            try await blocking {
                let client = try TestClient(port: port)
                try client.send("GET /stream HTTP/1.1\r\nHost: t\r\n\r\n")
                _ = try client.readHead()
                _ = try client.readLine()
            }
            #expect(await eventually { closeNotified.value })
            #expect(await eventually { writeError.value != nil })
            #expect(["connection closed", "cancelled"].contains(writeError.value))
            #expect(server.numOpenConnections == 0)
        }
    }

    @Test("the handler's task is cancelled when the client goes away")
    func handlerCancelled() async throws {
        let outcome = Box<String?>(nil)
        let router = Router()
        router.add(.get, "/wait") { _, writer in
            try writer.writeHead(status: .ok)
            do {
                try await Task.sleep(for: .seconds(30))
                outcome.value = "slept"
            } catch {
                outcome.value = error is CancellationError ? "cancelled" : "\(error)"
            }
        }
        try await withServer(router: router) { _, port in
            try await blocking {
                let client = try TestClient(port: port)
                try client.send("GET /wait HTTP/1.1\r\nHost: t\r\n\r\n")
                _ = try client.readHead()
            }
            #expect(await eventually { outcome.value != nil })
            #expect(outcome.value == "cancelled")
        }
    }

    @Test("graceful shutdown lets an in-flight stream finish and stops accepting")
    func gracefulShutdown() async throws {
        let router = Router()
        let started = Box(false)
        router.add(.get, "/stream") { _, writer in
            try writer.writeHead(status: .ok)
            started.value = true
            for index in 0..<5 {
                try await Task.sleep(for: .milliseconds(40))
                try await writer.write("part\(index);")
            }
            writer.finish()
        }
        let server = HTTPServer(
            config: HTTPServerConfig().withPort(0), router: router, logger: .init(label: "t", level: .error))
        try server.start()
        let port = server.boundPort
        let idle = try TestClient(port: port)
        let client = try TestClient(port: port)
        try client.send("GET /stream HTTP/1.1\r\nHost: t\r\n\r\n")
        #expect(await eventually { started.value })
        async let response = blocking { try client.readResponse() }
        await server.shutdown(deadline: .seconds(5))
        let finished = try await response
        #expect(finished.text == "part0;part1;part2;part3;part4;")
        #expect(try await blocking { client.waitForClose() })
        #expect(try await blocking { idle.waitForClose() })
        #expect(throws: (any Error).self) { try TestClient(port: port).request("GET", "/") }
    }

    @Test("run() returns once another task shuts the server down")
    func runUntilShutdown() async throws {
        let server = HTTPServer(
            config: HTTPServerConfig().withPort(0), router: makeTestRouter(), logger: .init(label: "t", level: .error))
        let running = Task { try await server.run() }
        #expect(await eventually { server.boundPort != 0 })
        let port = server.boundPort
        let status = try await blocking { try TestClient(port: port).request("GET", "/hello").status }
        #expect(status == 200)
        await server.shutdown(deadline: .seconds(1))
        try await running.value
        #expect(throws: HTTPServerError.alreadyStarted) { try server.start() }
    }

    @Test("shutdown past its deadline closes a stream that does not end")
    func shutdownDeadline() async throws {
        let writeError = Box<String?>(nil)
        let router = Router()
        router.add(.get, "/forever") { _, writer in
            try writer.writeHead(status: .ok)
            do {
                while true {
                    try await writer.write("x")
                    try await Task.sleep(for: .milliseconds(10))
                }
            } catch {
                writeError.value = error is CancellationError ? "cancelled" : "\(error)"
            }
        }
        let server = HTTPServer(
            config: HTTPServerConfig().withPort(0), router: router, logger: .init(label: "t", level: .error))
        try server.start()
        let client = try TestClient(port: server.boundPort)
        try client.send("GET /forever HTTP/1.1\r\nHost: t\r\n\r\n")
        _ = try await blocking { try client.readHead() }
        await server.shutdown(deadline: .milliseconds(100))
        #expect(await eventually { writeError.value != nil })
        #expect(["connection closed", "cancelled"].contains(writeError.value))
        #expect(try await blocking { client.waitForClose() })
    }
}
