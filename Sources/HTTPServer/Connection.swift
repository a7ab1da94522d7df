import COpenSSL
import HTTP1

#if canImport(Glibc)
    import Glibc
#endif

/// One accepted client connection: reads and parses requests, hands each to the router, and drains the
/// response bytes back to the socket. Owned by exactly one `EventLoop`.
///
/// A peer that half-closes (sends FIN) is treated as gone: HTTP clients that still want the response
/// keep their side open, and for a streaming API an early FIN almost always means the client left.
///
/// Invariants: every stored property is read and written only on the owning loop's thread (other threads
/// go through `loop.execute`); at most one request is being answered at a time, later pipelined requests
/// wait in the parser; the connection is counted in `ServerStats` from accept until `close()`.
final class Connection: EventLoopHandler, @unchecked Sendable {
    /// Lifecycle of a connection.
    enum State {
        /// TLS handshake in progress (TLS listeners only).
        case handshaking
        /// Waiting for, or reading, a request head; idle when nothing is buffered.
        case awaitingRequest
        /// Head received; collecting the body.
        case readingBody
        /// A handler (or the server itself) is producing the response; input is buffered, not parsed.
        case responding
        /// Response sent and output shut down; discarding input until the peer closes (avoids a reset
        /// that could destroy the response in flight).
        case lingering
        /// Socket closed; the object is about to be released.
        case closed
    }

    /// Which timer currently applies.
    enum Deadline {
        case none
        case idle
        case head
        case body
        case linger
    }

    static let lingerTimeout: UInt64 = 2_000_000_000
    /// Pipelined bytes buffered while answering before reading pauses.
    static let maxPipelinedBytes = 64 * 1024

    let fd: Int32
    let loop: EventLoop
    let server: ServerCore
    let transport: Transport
    let remoteAddress: String
    let output: ConnectionOutput
    let isRejected: Bool
    var state: State
    var parser: HTTPRequestParser
    var head: HTTPRequestHead?
    var body: [UInt8] = []
    var isKeepAlive = true
    var deadlineKind = Deadline.idle
    var deadline: UInt64 = 0
    var lastWriteProgress: UInt64 = 0
    var isWaitingForWritable = false
    var isWaitingForReadableToWrite = false
    var isReadPaused = false
    var isResponseFinished = false
    var writer: ResponseWriter?
    var interest: UInt32 = 0

    init(fd: Int32, loop: EventLoop, server: ServerCore, transport: Transport, remoteAddress: String, isRejected: Bool)
    {
        self.fd = fd
        self.loop = loop
        self.server = server
        self.transport = transport
        self.remoteAddress = remoteAddress
        self.isRejected = isRejected
        self.output = ConnectionOutput(maxBufferedBytes: server.config.maxWriteBufferBytes, stats: server.stats)
        self.parser = HTTPRequestParser(limits: server.config.limits)
        self.state = transport.isTLS ? .handshaking : .awaitingRequest
    }

    /// Registers with the loop and starts serving (or, for a rejected connection, answers 503).
    func start() {
        let now = Socket.now()
        interest = EPOLLIN.rawValue | EPOLLRDHUP.rawValue
        loop.connections[fd] = self
        loop.register(fd, events: interest, handler: self)
        if isRejected {
            let error = HTTPError(
                status: .serviceUnavailable, message: "the server is at its connection limit; retry later",
                code: "server_overloaded")
            sendServerResponse(error)
            return
        }
        if state == .handshaking {
            deadlineKind = .head
            deadline = now + server.config.headReadTimeout.nanoseconds
            continueHandshake()
        } else {
            setDeadline(.idle, now: now)
        }
    }

    func handleEvent(_ events: UInt32) {
        guard state != .closed else { return }
        if state == .handshaking {
            continueHandshake()
            return
        }
        let hangup = EPOLLRDHUP.rawValue | EPOLLHUP.rawValue | EPOLLERR.rawValue
        if isReadPaused && events & hangup != 0 {
            close()
            return
        }
        if events & (EPOLLIN.rawValue | hangup) != 0 {
            if isWaitingForReadableToWrite { flush() }
            if state != .closed { readAvailable() }
        }
        if state != .closed && events & EPOLLOUT.rawValue != 0 { flush() }
    }

    private func continueHandshake() {
        switch transport.handshake() {
        case .endOfStream:
            state = .awaitingRequest
            setDeadline(.idle, now: Socket.now())
            updateInterest(readable: true, writable: false)
            readAvailable()
        case .wantRead:
            updateInterest(readable: true, writable: false)
        case .wantWrite:
            updateInterest(readable: true, writable: true)
        case .bytes, .failed:
            server.logger.debug("TLS handshake failed", ["remote": remoteAddress])
            close()
        }
    }

    /// Reads what the socket has; feeds the parser unless a response is in progress.
    func readAvailable() {
        while state != .closed && !isReadPaused {
            if state == .responding && parser.numBufferedBytes >= Connection.maxPipelinedBytes {
                isReadPaused = true
                updateInterest()
                return
            }
            switch transport.read(into: loop.readBuffer) {
            case .bytes(let count):
                if state == .lingering { continue }
                parser.append(UnsafeRawBufferPointer(rebasing: loop.readBuffer[0..<count]))
                if state == .awaitingRequest || state == .readingBody { processInput() }
                if count < loop.readBuffer.count && !transport.isTLS { return }
            case .wantRead:
                return
            case .wantWrite:
                updateInterest(readable: true, writable: true)
                return
            case .endOfStream, .failed:
                close()
                return
            }
        }
    }

    /// Pulls parser events while a request is being received.
    func processInput() {
        do {
            while state == .awaitingRequest || state == .readingBody, let event = try parser.next() {
                switch event {
                case .head(let head): beginRequest(head)
                case .body(let bytes): body.append(contentsOf: bytes)
                case .end(let trailers): dispatch(trailers: trailers)
                }
            }
        } catch {
            sendServerResponse(HTTPError(parseError: error))
            return
        }
        let now = Socket.now()
        switch state {
        case .awaitingRequest:
            if parser.isIdle {
                if deadlineKind != .idle { setDeadline(.idle, now: now) }
            } else if deadlineKind != .head {
                setDeadline(.head, now: now)
            }
        case .readingBody:
            setDeadline(.body, now: now)
        default:
            break
        }
    }

    private func beginRequest(_ head: HTTPRequestHead) {
        self.head = head
        body = []
        if case .fixed(let length) = head.bodyLength { body.reserveCapacity(length) }
        state = .readingBody
        isKeepAlive = head.isKeepAlive && !server.isShuttingDown
        if head.expectsContinue && head.bodyLength != .fixed(0) && parser.numBufferedBytes == 0 {
            _ = output.enqueue(HTTPResponseEncoder.continueResponse, force: true, scheduleFlush: false)
            flush()
        }
    }

    private func dispatch(trailers: HTTPHeaders) {
        guard let head else { return }
        state = .responding
        deadlineKind = .none
        isResponseFinished = false
        output.resetForNextResponse()
        var request = HTTPRequest(
            method: head.method, target: head.target, version: head.version, headers: head.headers, body: body,
            trailers: trailers, remoteAddress: remoteAddress, isTLS: transport.isTLS)
        request.path = head.path
        request.query = head.query
        body = []
        let writer = ResponseWriter(connection: self, output: output, request: head, isKeepAlive: isKeepAlive)
        self.writer = writer
        server.dispatch(request, writer)
    }

    /// Answers with a server-generated error (parse error, timeout, overload) and closes afterwards.
    func sendServerResponse(_ error: HTTPError) {
        var response = HTTPResponse.error(error)
        response.headers.add(name: "Connection", value: "close")
        response.headers.add(name: "Date", value: HTTPDate.current())
        let head = HTTPResponseHead(status: response.status, headers: response.headers)
        _ = output.enqueue(HTTPResponseEncoder.encode(head, body: response.body), force: true, scheduleFlush: false)
        state = .responding
        deadlineKind = .none
        writer = nil
        isKeepAlive = false
        isResponseFinished = true
        flush()
    }

    func setDeadline(_ kind: Deadline, now: UInt64) {
        deadlineKind = kind
        let config = server.config
        switch kind {
        case .none: deadline = 0
        case .idle: deadline = now + config.idleTimeout.nanoseconds
        case .head: deadline = now + config.headReadTimeout.nanoseconds
        case .body: deadline = now + config.bodyReadTimeout.nanoseconds
        case .linger: deadline = now + (server.isShuttingDown ? 100_000_000 : Connection.lingerTimeout)
        }
    }

    /// Sets the epoll interest set: reading unless paused, writing while output waits for the socket.
    func updateInterest(readable: Bool? = nil, writable: Bool? = nil) {
        var events = EPOLLRDHUP.rawValue
        if readable ?? !isReadPaused { events |= EPOLLIN.rawValue }
        if writable ?? isWaitingForWritable { events |= EPOLLOUT.rawValue }
        if events != interest {
            interest = events
            loop.modify(fd, events: events)
        }
    }
}
