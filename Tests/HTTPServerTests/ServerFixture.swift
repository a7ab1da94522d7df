import Foundation
import HTTP1
import HTTPServer
import Synchronization
import Telemetry
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Starts a server on 127.0.0.1 with an ephemeral port, runs `body`, and shuts the server down.
func withServer<T>(
    config: HTTPServerConfig = HTTPServerConfig(), router: Router,
    _ body: (HTTPServer, Int) async throws -> T
) async throws -> T {
    var config = config
    if config.port == 8000 { config.port = 0 }
    let server = HTTPServer(config: config, router: router, logger: Logger(label: "test", level: .warning))
    try server.start()
    do {
        let result = try await body(server, server.boundPort)
        await server.shutdown(deadline: .seconds(2))
        return result
    } catch {
        await server.shutdown(deadline: .seconds(2))
        throw error
    }
}

/// Polls `condition` every few milliseconds for up to `seconds`; returns whether it became true.
/// (Used to wait for asynchronous effects, never to assert on speed; the bound is generous because a busy
/// cooperative pool, e.g. other test targets running in parallel, can delay handlers for seconds.)
func eventually(seconds: Double = 30, _ condition: () -> Bool) async -> Bool {
    let end = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
    while ContinuousClock.now < end {
        if condition() { return true }
        try? await Task.sleep(for: .milliseconds(5))
    }
    return condition()
}

/// Runs blocking client code off the cooperative pool so it cannot starve the server's handlers.
func blocking<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        let thread = Thread {
            continuation.resume(with: Result { try body() })
        }
        thread.start()
    }
}

/// A thread-safe box for values observed inside handlers.
final class Box<Value: Sendable>: Sendable {
    private let storage: Mutex<Value>
    init(_ value: Value) { storage = Mutex(value) }
    var value: Value {
        get { storage.withLock { $0 } }
        set { storage.withLock { $0 = newValue } }
    }
    func update(_ body: (inout Value) -> Void) { storage.withLock { body(&$0) } }
}

/// A router with the small endpoints most tests use.
func makeTestRouter() -> Router {
    let router = Router()
    router.add(.get, "/hello") { _ in .text("hello") }
    router.add(.post, "/echo") { request in
        HTTPResponse(status: .ok, headers: ["Content-Type": "application/octet-stream"], body: request.body)
    }
    router.add(.get, "/slow/{millis}") { request in
        let millis = Int(request.pathParameters["millis"] ?? "0") ?? 0
        try await Task.sleep(for: .milliseconds(millis))
        return .text("slept \(millis)")
    }
    return router
}
