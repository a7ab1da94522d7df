import HTTP1
import HTTPServer
import HTTPTestSupport
import Telemetry
import Testing

@Suite("Router and middleware")
struct RouterMiddlewareTests {
    @Test("unknown paths get 404 and known paths with other methods get 405 with Allow, as JSON errors")
    func notFoundAndMethodNotAllowed() async throws {
        try await withServer(router: makeTestRouter()) { _, port in
            let (missing, wrongMethod, options, head) = try await blocking {
                let client = try TestClient(port: port)
                return (
                    try client.request("GET", "/nope"), try client.request("DELETE", "/hello"),
                    try client.request("OPTIONS", "/hello"), try client.request("HEAD", "/hello")
                )
            }
            #expect(missing.status == 404)
            #expect(missing.text.contains(#""code":"not_found""#))
            #expect(wrongMethod.status == 405)
            #expect(wrongMethod.headers["Allow"] == "GET, HEAD, OPTIONS")
            #expect(wrongMethod.text.contains(#""type":"invalid_request_error""#))
            #expect(options.status == 204 && options.headers["Allow"] == "GET, HEAD, OPTIONS")
            #expect(head.status == 200 && head.headers["Content-Length"] == "5" && head.body.isEmpty)
        }
    }

    @Test("path parameters and query parameters reach the handler")
    func parameters() async throws {
        let router = Router()
        router.add(.get, "/v1/models/{model}") { request in
            .text(
                "\(request.pathParameters["model"] ?? "-") \(request.queryParameters["q"] ?? "-") \(request.route ?? "")"
            )
        }
        try await withServer(router: router) { _, port in
            let response = try await blocking {
                try TestClient(port: port).request("GET", "/v1/models/pangu-7b?q=a%20b&x=1")
            }
            #expect(response.text == "pangu-7b a b /v1/models/{model}")
        }
    }

    @Test("a last {name...} segment takes the rest of the path, and needs at least one segment")
    func restOfPath() async throws {
        let router = Router()
        router.add(.get, "/v1/models/{model...}") { request in .text(request.pathParameters["model"] ?? "-") }
        try await withServer(router: router) { _, port in
            let (nested, encoded, one, none) = try await blocking {
                let client = try TestClient(port: port)
                return (
                    try client.request("GET", "/v1/models/org/pangu-7b"),
                    try client.request("GET", "/v1/models/org%2Fa%20b"),
                    try client.request("GET", "/v1/models/pangu-7b"), try client.request("GET", "/v1/models/")
                )
            }
            #expect(nested.text == "org/pangu-7b" && encoded.text == "org/a b" && one.text == "pangu-7b")
            #expect(none.status == 404)
        }
    }

    @Test("a handler error becomes a JSON error response with its status")
    func handlerErrors() async throws {
        let router = Router()
        router.add(.post, "/bad") { _ in
            throw HTTPError(
                status: .badRequest, message: "temperature must be >= 0", code: "invalid_value", param: "temperature")
        }
        struct Boom: Error {}
        router.add(.post, "/boom") { _ in throw Boom() }
        try await withServer(router: router) { _, port in
            let (bad, boom) = try await blocking {
                let client = try TestClient(port: port)
                return (try client.request("POST", "/bad", body: "{}"), try client.request("POST", "/boom", body: "{}"))
            }
            #expect(bad.status == 400)
            #expect(
                bad.text
                    == #"{"error":{"message":"temperature must be >= 0","type":"invalid_request_error","param":"temperature","code":"invalid_value"}}"#
            )
            #expect(boom.status == 500)
            #expect(boom.text.contains(#""type":"server_error""#))
        }
    }

    @Test("request ids are echoed when sane and generated otherwise")
    func requestIDs() async throws {
        let router = makeTestRouter()
        router.use(.requestID())
        router.add(.get, "/id") { request in .text(request.requestID) }
        try await withServer(router: router) { _, port in
            let (echoed, generated) = try await blocking {
                let client = try TestClient(port: port)
                return (
                    try client.request("GET", "/id", headers: ["X-Request-Id: abc-123"]),
                    try client.request("GET", "/nope", headers: ["X-Request-Id: has space"])
                )
            }
            #expect(echoed.headers["x-request-id"] == "abc-123" && echoed.text == "abc-123")
            let id = try #require(generated.headers["X-Request-Id"])
            #expect(id.count == 32 && id != "has space")
            #expect(generated.status == 404)
        }
    }

    @Test("bearer API keys guard routes except open paths")
    func bearerAuth() async throws {
        let router = makeTestRouter()
        router.add(.get, "/health") { _ in .text("ok") }
        router.use(.bearerAuth(keys: ["sk-secret", "sk-other"], openPaths: ["/health"]))
        try await withServer(router: router) { _, port in
            let results = try await blocking {
                let client = try TestClient(port: port)
                return [
                    try client.request("GET", "/hello"),
                    try client.request("GET", "/hello", headers: ["Authorization: Bearer sk-wrong!!"]),
                    try client.request("GET", "/hello", headers: ["Authorization: Bearer sk-secret"]),
                    try client.request("GET", "/hello", headers: ["Authorization: bearer sk-other"]),
                    try client.request("GET", "/health"),
                ]
            }
            #expect(results.map(\.status) == [401, 401, 200, 200, 200])
            #expect(results[0].text.contains(#""code":"invalid_api_key""#))
            #expect(results[0].headers["WWW-Authenticate"] == "Bearer")
        }
        #expect(HTTPMiddleware.constantTimeEqual(Array("abc".utf8), Array("abc".utf8)))
        #expect(!HTTPMiddleware.constantTimeEqual(Array("abc".utf8), Array("abd".utf8)))
        #expect(!HTTPMiddleware.constantTimeEqual(Array("abc".utf8), Array("abcd".utf8)))
        #expect(!HTTPMiddleware.constantTimeEqual([], Array("a".utf8)))
    }

    @Test("CORS answers preflights and decorates responses for allowed origins only")
    func cors() async throws {
        var config = CORSConfig()
        config.allowedOrigins = ["https://app.example"]
        let router = makeTestRouter()
        router.use(.cors(config))
        router.use(.bearerAuth(keys: ["k"], openPaths: []))
        try await withServer(router: router) { _, port in
            let results = try await blocking {
                let client = try TestClient(port: port)
                let preflight = ["Origin: https://app.example", "Access-Control-Request-Method: POST"]
                return [
                    try client.request("OPTIONS", "/echo", headers: preflight),
                    try client.request(
                        "OPTIONS", "/echo",
                        headers: [
                            "Origin: https://evil.example",
                            "Access-Control-Request-Method: POST",
                        ]),
                    try client.request(
                        "GET", "/hello", headers: ["Origin: https://app.example", "Authorization: Bearer k"]),
                    try client.request(
                        "GET", "/hello", headers: ["Origin: https://evil.example", "Authorization: Bearer k"]),
                ]
            }
            #expect(results[0].status == 204)
            #expect(results[0].headers["Access-Control-Allow-Origin"] == "https://app.example")
            #expect(results[0].headers["Access-Control-Allow-Methods"]?.contains("POST") == true)
            #expect(results[1].status == 403)
            #expect(
                results[2].status == 200 && results[2].headers["Access-Control-Allow-Origin"] == "https://app.example")
            #expect(results[3].status == 200 && results[3].headers["Access-Control-Allow-Origin"] == nil)
        }
    }

    @Test("the access log writes one structured line per request and the metrics hook sees route and status")
    func accessLogAndMetrics() async throws {
        let lines = Box<[String]>([])
        let samples = Box<[RequestMetricsSample]>([])
        let logger = Logger(label: "access", format: .json) { line in lines.update { $0.append(line) } }
        let router = makeTestRouter()
        router.use(.requestID())
        router.use(.accessLog(logger))
        router.use(.metrics { sample in samples.update { $0.append(sample) } })
        try await withServer(router: router) { _, port in
            _ = try await blocking {
                let client = try TestClient(port: port)
                _ = try client.request("GET", "/slow/5", headers: ["X-Request-Id: r1"])
                _ = try client.request("GET", "/missing")
            }
            #expect(await eventually { lines.value.count == 2 && samples.value.count == 2 })
            let first = lines.value[0]
            for fragment in [
                #""msg":"request""#, #""method":"GET""#, #""path":"/slow/5""#, #""status":"200""#, #""bytes":"7""#,
                #""request_id":"r1""#, #""duration_ms":"#,
            ] {
                #expect(first.contains(fragment), "\(first)")
            }
            #expect(lines.value[1].contains(#""status":"404""#))
            #expect(samples.value.map(\.route) == ["/slow/{millis}", "unmatched"])
            #expect(samples.value.map(\.status) == [200, 404])
        }
    }
}
