import COpenSSL
import HTTP1
import Synchronization
import Telemetry

#if canImport(Glibc)
    import Glibc
#endif

/// State shared by the event loops of one server: configuration, router, TLS context, counters and the
/// shutdown flag. Immutable after `HTTPServer.start()` except for its atomics.
final class ServerCore: Sendable {
    let config: HTTPServerConfig
    let router: Router
    let logger: Logger
    let tls: TLSContext?
    let stats = ServerStats()
    private let shuttingDown = Atomic<Bool>(false)
    /// Rejected connections lingering at once beyond which new excess connections are closed outright.
    static let maxRejectingConnections = 1024

    init(config: HTTPServerConfig, router: Router, logger: Logger, tls: TLSContext?) {
        self.config = config
        self.router = router
        self.logger = logger
        self.tls = tls
    }

    var isShuttingDown: Bool { shuttingDown.load(ordering: .acquiring) }

    func beginShutdown() { shuttingDown.store(true, ordering: .releasing) }

    /// Loop thread: a new socket was accepted on `loop`.
    func accepted(fd: Int32, address: sockaddr_storage, on loop: EventLoop) {
        let isOverLimit = stats.numOpenConnections.load(ordering: .relaxed) >= config.maxConnections
        if isOverLimit && tls != nil {
            // A plaintext 503 means nothing to a TLS client, and a handshake costs CPU the overloaded
            // server does not have: close at once.
            _ = Glibc.close(fd)
            return
        }
        if isOverLimit {
            let numRejecting = stats.numRejectingConnections.wrappingAdd(1, ordering: .relaxed).newValue
            if numRejecting > ServerCore.maxRejectingConnections {
                stats.numRejectingConnections.wrappingSubtract(1, ordering: .relaxed)
                _ = Glibc.close(fd)
                return
            }
        } else {
            stats.numOpenConnections.wrappingAdd(1, ordering: .relaxed)
            stats.numAcceptedConnections.wrappingAdd(1, ordering: .relaxed)
        }
        if config.enableTCPNoDelay { Socket.setOption(fd, Int32(IPPROTO_TCP), TCP_NODELAY, 1) }
        var ssl: OpaquePointer?
        if let tls, !isOverLimit {
            ssl = tls.makeSession(fd: fd)
            if ssl == nil {
                stats.numOpenConnections.wrappingSubtract(1, ordering: .relaxed)
                _ = Glibc.close(fd)
                return
            }
        }
        let connection = Connection(
            fd: fd, loop: loop, server: self, transport: Transport(fd: fd, ssl: ssl),
            remoteAddress: Socket.describe(address), isRejected: isOverLimit)
        connection.start()
    }

    /// Loop thread: a connection closed.
    func connectionDidClose(isRejected: Bool) {
        if isRejected {
            stats.numRejectingConnections.wrappingSubtract(1, ordering: .relaxed)
        } else {
            stats.numOpenConnections.wrappingSubtract(1, ordering: .relaxed)
        }
    }

    /// Loop thread: runs the router for a complete request in a new task on the Swift concurrency pool.
    /// The task is cancelled if the connection closes before the response finishes.
    func dispatch(_ request: HTTPRequest, _ writer: ResponseWriter) {
        let router = router
        let task = Task {
            do {
                try await router.respond(to: request, writer: writer)
                writer.completeAfterHandler(error: nil)
            } catch {
                writer.completeAfterHandler(error: error)
            }
        }
        writer.onClose { task.cancel() }
    }
}

/// Accepts connections from the shared listening socket on one loop (the socket is registered with
/// `EPOLLEXCLUSIVE` in every loop, so each readiness wakes one loop). Touched only on its loop's thread.
final class Listener: EventLoopHandler, @unchecked Sendable {
    let fd: Int32
    let loop: EventLoop
    let server: ServerCore
    var isRegistered = false

    init(fd: Int32, loop: EventLoop, server: ServerCore) {
        self.fd = fd
        self.loop = loop
        self.server = server
    }

    func register() {
        guard !isRegistered else { return }
        isRegistered = true
        loop.register(fd, events: EPOLLIN.rawValue | EPOLLEXCLUSIVE.rawValue, handler: self)
    }

    func unregister() {
        guard isRegistered else { return }
        isRegistered = false
        loop.unregister(fd)
    }

    func handleEvent(_ events: UInt32) {
        for _ in 0..<128 {
            var storage = sockaddr_storage()
            var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let client = withUnsafeMutablePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { accept(fd, $0, &length) }
            }
            if client >= 0 {
                _ = fcntl(client, F_SETFL, fcntl(client, F_GETFL) | O_NONBLOCK)
                _ = fcntl(client, F_SETFD, FD_CLOEXEC)
                server.accepted(fd: client, address: storage, on: loop)
                continue
            }
            switch errno {
            case EINTR, ECONNABORTED:
                continue
            case EMFILE, ENFILE, ENOBUFS, ENOMEM:
                // Out of descriptors: stop accepting until the next tick instead of spinning.
                server.logger.warning("accept failed; pausing the listener", ["errno": String(errno)])
                unregister()
                return
            default:
                return
            }
        }
    }
}
