import Foundation
import HTTP1
import Synchronization
import Telemetry

#if canImport(Glibc)
    import Glibc
#endif

/// The daemon's front door: listens on a TCP port (optionally TLS), runs epoll event loops on dedicated
/// threads, parses HTTP/1.1, and hands complete requests to a `Router` whose async handlers write responses.
///
/// Lifecycle: `init` → `start()` (binds; `boundPort` is then the real port, also for port 0) →
/// serving → `shutdown(deadline:)` (stop accepting, close idle connections, let in-flight responses finish
/// until the deadline, then close everything and stop the loops) → stopped. `run()` is `start()` plus
/// waiting for shutdown. A server is started at most once.
///
/// ```swift
/// let router = Router()
/// router.add(.get, "/health") { _ in .text("ok") }
/// let server = HTTPServer(config: config, router: router)
/// try server.start()
/// ```
public final class HTTPServer: Sendable {
    /// Lifecycle of the server.
    enum Lifecycle {
        /// Created, not started.
        case idle
        /// Listening; the loops and listeners are running.
        case running(loops: [EventLoop], listeners: [Listener], listenFD: Int32, port: Int)
        /// `shutdown` in progress.
        case shuttingDown(port: Int)
        /// Everything closed.
        case stopped(port: Int)
    }

    public let config: HTTPServerConfig
    public let router: Router
    private let logger: Logger
    private let lifecycle = Mutex(Lifecycle.idle)
    private let core: Mutex<ServerCore?> = Mutex(nil)
    private let stopWaiters = Mutex<(isStopped: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    public init(config: HTTPServerConfig, router: Router, logger: Logger = Logger(label: "http")) {
        precondition(config.numEventLoops >= 1, "numEventLoops must be at least 1")
        self.config = config
        self.router = router
        self.logger = logger
    }

    /// Binds the listening socket and starts the event-loop threads. Throws on bind or TLS errors.
    /// Sets the process's `SIGPIPE` disposition to ignore (writes to closed sockets must fail, not kill).
    public func start() throws {
        let isIdle = lifecycle.withLock { state -> Bool in
            if case .idle = state { return true }
            return false
        }
        guard isIdle else { throw HTTPServerError.alreadyStarted }
        signal(SIGPIPE, SIG_IGN)
        var tls: TLSContext?
        if let certificate = config.tlsCertFile, let key = config.tlsKeyFile {
            tls = try TLSContext(certificateFile: certificate, keyFile: key)
        }
        let core = ServerCore(config: config, router: router, logger: logger, tls: tls)
        let (listenFD, port) = try Socket.makeListener(host: config.host, port: config.port, backlog: config.backlog)
        var loops: [EventLoop] = []
        var listeners: [Listener] = []
        do {
            for index in 0..<config.numEventLoops {
                let loop = try EventLoop(index: index, tickInterval: tickInterval())
                let listener = Listener(fd: listenFD, loop: loop, server: core)
                loop.onTick = { [unowned loop] now in
                    for connection in Array(loop.connections.values) { connection.checkTimeouts(now: now) }
                    if !core.isShuttingDown { listener.register() }
                }
                listener.register()
                loops.append(loop)
                listeners.append(listener)
            }
        } catch {
            close(listenFD)
            throw error
        }
        self.core.withLock { $0 = core }
        lifecycle.withLock { $0 = .running(loops: loops, listeners: listeners, listenFD: listenFD, port: port) }
        for loop in loops { loop.start() }
        logger.info(
            "listening",
            ["host": config.host, "port": String(port), "tls": String(tls != nil), "loops": String(loops.count)])
    }

    /// Starts the server and returns when it has been shut down (by another task calling `shutdown`).
    public func run() async throws {
        try start()
        await waitUntilStopped()
    }

    /// Port actually bound (useful with `port: 0`); 0 before `start()`.
    public var boundPort: Int {
        lifecycle.withLock { state in
            switch state {
            case .idle: 0
            case .running(_, _, _, let port), .shuttingDown(let port), .stopped(let port): port
            }
        }
    }

    /// Client connections currently open (excluding ones being refused with 503).
    public var numOpenConnections: Int {
        core.withLock { $0?.stats.numOpenConnections.load(ordering: .relaxed) ?? 0 }
    }

    /// Largest number of response bytes any one connection has buffered in user space so far; stays near
    /// `maxWriteBufferBytes` however slowly clients read.
    public var peakBufferedBytesPerConnection: Int {
        core.withLock { $0?.stats.peakBufferedBytes.load(ordering: .relaxed) ?? 0 }
    }

    /// Total connections accepted (and not refused) since start.
    public var numAcceptedConnections: Int {
        core.withLock { $0?.stats.numAcceptedConnections.load(ordering: .relaxed) ?? 0 }
    }

    /// Suspends until the server has fully stopped.
    public func waitUntilStopped() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let isStopped = stopWaiters.withLock { state -> Bool in
                if state.isStopped { return true }
                state.waiters.append(continuation)
                return false
            }
            if isStopped { continuation.resume() }
        }
    }

    private func tickInterval() -> Duration {
        let shortest = [config.headReadTimeout, config.bodyReadTimeout, config.idleTimeout, config.writeTimeout].min()
        let quarter = (shortest ?? .seconds(1)) / 4
        return min(max(quarter, .milliseconds(5)), .milliseconds(250))
    }

    /// Graceful shutdown: stops accepting, closes idle connections, waits up to `deadline` for in-flight
    /// responses (they are sent with `Connection: close`), then closes what is left (their writers see
    /// `connectionClosed`) and stops the loops. Returns once everything is closed; later calls just wait.
    public func shutdown(deadline: Duration = .seconds(10)) async {
        let running = lifecycle.withLock { state -> ([EventLoop], [Listener], Int32)? in
            guard case .running(let loops, let listeners, let listenFD, let port) = state else { return nil }
            state = .shuttingDown(port: port)
            return (loops, listeners, listenFD)
        }
        guard let running, let core = core.withLock({ $0 }) else {
            if case .idle = lifecycle.withLock({ $0 }) { return }
            await waitUntilStopped()
            return
        }
        let (loops, listeners, listenFD) = running
        let end = ContinuousClock.now + deadline
        core.beginShutdown()
        for (loop, listener) in zip(loops, listeners) {
            await Self.runOnLoop(loop) {
                listener.unregister()
                for connection in Array(loop.connections.values) where connection.isIdleForShutdown {
                    connection.close()
                }
            }
        }
        close(listenFD)
        while ContinuousClock.now < end && Self.numLive(core) > 0 {
            try? await Task.sleep(for: .milliseconds(5))
        }
        for loop in loops {
            await Self.runOnLoop(loop) {
                for connection in Array(loop.connections.values) { connection.close() }
            }
        }
        for loop in loops { await Self.stop(loop) }
        lifecycle.withLock { state in
            if case .shuttingDown(let port) = state { state = .stopped(port: port) }
        }
        logger.info("stopped", [:])
        let waiters = stopWaiters.withLock { state in
            state.isStopped = true
            let waiters = state.waiters
            state.waiters = []
            return waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    private static func numLive(_ core: ServerCore) -> Int {
        core.stats.numOpenConnections.load(ordering: .relaxed)
            + core.stats.numRejectingConnections.load(ordering: .relaxed)
    }

    private static func runOnLoop(_ loop: EventLoop, _ body: @escaping @Sendable () -> Void) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            loop.execute {
                body()
                continuation.resume()
            }
        }
    }

    private static func stop(_ loop: EventLoop) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let thread = Thread {
                loop.stopAndJoin()
                continuation.resume()
            }
            thread.start()
        }
    }
}
