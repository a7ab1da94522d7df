import HTTP1
import Synchronization

/// The handler's side of one response: writes the head, streams body bytes with backpressure, finishes,
/// and reports when the client has gone away.
///
/// Lifecycle: `writeHead` once → any number of `write`s → `finish()` (or `send(_:)` for all three).
/// Framing follows the head: a `Content-Length` header gives a fixed-length body, otherwise HTTP/1.1
/// responses are chunked (HTTP/1.0 ones are delimited by closing the connection). `HEAD` requests and
/// 1xx/204/304 statuses get no body bytes. If the handler returns without finishing, the server finishes
/// for it (or answers 500 when nothing was written); if it throws after the head, the connection closes.
///
/// Cancellation: the handler runs in its own task, which the server cancels when the connection closes
/// before `finish` (so `Task.isCancelled`, `Task.sleep` and cancellation handlers see the client leave).
///
/// Backpressure: `write` suspends while the connection already buffers `maxWriteBufferBytes`, so a client
/// that reads slowly slows its producer instead of growing memory. Peer closure: once the connection
/// closes before `finish`, `isClosed` is true, `write` throws `HTTPServerError.connectionClosed`, and every
/// `onClose` callback runs once (on the event loop thread: keep it short, e.g. cancel a task).
/// All methods are safe from any thread or task, but one response must be written by one task at a time.
public final class ResponseWriter: Sendable {
    /// How body bytes are delimited on the wire.
    enum Framing {
        /// No body bytes are sent (HEAD request, 1xx/204/304 status).
        case none
        /// `Content-Length`; `remaining` bytes may still be written.
        case fixed(remaining: Int)
        /// `Transfer-Encoding: chunked` (HTTP/1.1).
        case chunked
        /// Delimited by closing the connection (HTTP/1.0 without a length).
        case untilClose
    }

    /// Lifecycle of one response.
    enum Phase {
        /// Nothing written yet; middleware may still add headers.
        case initial
        /// Head written; body bytes may follow.
        case streaming
        /// `finish` happened; further writes are errors.
        case finished
    }

    struct State {
        var phase = Phase.initial
        var framing = Framing.none
        var status: HTTPStatus?
        var numBodyBytes = 0
        var extraHeaders = HTTPHeaders()
        var isKeepAlive: Bool
    }

    let connection: Connection
    let output: ConnectionOutput
    let requestMethod: HTTPMethod
    let requestVersion: HTTPVersion
    private let state: Mutex<State>

    init(connection: Connection, output: ConnectionOutput, request: HTTPRequestHead, isKeepAlive: Bool) {
        self.connection = connection
        self.output = output
        self.requestMethod = request.method
        self.requestVersion = request.version
        self.state = Mutex(State(isKeepAlive: isKeepAlive))
    }

    /// True once the connection closed (peer gone, timeout, forced shutdown) before the response finished.
    public var isClosed: Bool { output.isClosedBeforeFinish }
    /// Whether `writeHead` (or `send`) happened.
    public var isHeadSent: Bool { state.withLock { $0.phase != .initial } }
    /// Whether `finish` happened.
    public var isFinished: Bool { state.withLock { $0.phase == .finished } }
    /// Status written, or nil before the head.
    public var status: HTTPStatus? { state.withLock { $0.status } }
    /// Body bytes the handler wrote so far (before chunk framing).
    public var numBodyBytesWritten: Int { state.withLock { $0.numBodyBytes } }

    /// Runs `callback` once if the connection closes before the response finishes (immediately if it
    /// already has). Use it to cancel work such as token generation.
    public func onClose(_ callback: @escaping @Sendable () -> Void) {
        output.addCloseCallback(callback)
    }

    /// Adds a header to the response head that is still to be written (for middleware: request id, CORS).
    /// Ignored once the head was sent.
    public func addHeader(name: String, value: String) {
        state.withLock { state in
            if state.phase == .initial { state.extraHeaders.add(name: name, value: value) }
        }
    }

    /// Writes the status line and headers. Throws `invalidResponseState` when called twice.
    public func writeHead(status: HTTPStatus, headers: HTTPHeaders = HTTPHeaders()) throws {
        let bytes = try state.withLock { state throws -> [UInt8] in
            guard state.phase == .initial else { throw HTTPServerError.invalidResponseState("head already written") }
            let head = try makeHead(status: status, headers: headers, state: &state)
            state.phase = .streaming
            state.status = status
            return HTTPResponseEncoder.encodeHead(head)
        }
        if case .closed = enqueue(bytes, force: true) { throw HTTPServerError.connectionClosed }
    }

    /// Writes body bytes; suspends while the connection's write buffer is full; throws
    /// `connectionClosed` once the peer is gone.
    public func write(_ bytes: [UInt8]) async throws {
        guard !bytes.isEmpty else { return }
        let encoded = try state.withLock { state throws -> [UInt8]? in
            guard state.phase == .streaming else {
                throw HTTPServerError.invalidResponseState("write outside head...finish")
            }
            state.numBodyBytes += bytes.count
            switch state.framing {
            case .none: return nil
            case .chunked: return HTTPResponseEncoder.chunk(bytes)
            case .untilClose: return bytes
            case .fixed(let remaining):
                guard bytes.count <= remaining else {
                    throw HTTPServerError.contentLengthExceeded(declared: state.numBodyBytes - bytes.count + remaining)
                }
                state.framing = .fixed(remaining: remaining - bytes.count)
                return bytes
            }
        }
        guard let encoded else {
            if output.isClosed { throw HTTPServerError.connectionClosed }
            return
        }
        try await enqueueBounded(encoded)
    }

    /// Writes UTF-8 text as body bytes.
    public func write(_ text: String) async throws {
        try await write(Array(text.utf8))
    }

    /// Writes one server-sent event (`data: ...\n\n`).
    public func writeEvent(_ event: ServerSentEvent) async throws {
        try await write(event.encoded)
    }

    /// Ends the response (the last chunk with optional trailers for chunked bodies). Writes an empty
    /// `200` first when no head was written. Idempotent; a no-op once the connection is closed.
    public func finish(trailers: HTTPHeaders = HTTPHeaders()) {
        if !isHeadSent { try? writeHead(status: .ok, headers: ["Content-Length": "0"]) }
        let result = state.withLock { state -> ([UInt8], Bool)? in
            guard state.phase == .streaming else { return nil }
            state.phase = .finished
            switch state.framing {
            case .chunked: return (HTTPResponseEncoder.lastChunk(trailers: trailers), state.isKeepAlive)
            case .fixed(let remaining): return ([], state.isKeepAlive && remaining == 0)
            case .none: return ([], state.isKeepAlive)
            case .untilClose: return ([], false)
            }
        }
        guard let (tail, isKeepAlive) = result else { return }
        output.markResponseFinished()
        _ = output.enqueue(tail, force: true, scheduleFlush: false)
        connection.scheduleResponseFinished(self, isKeepAlive: isKeepAlive)
    }

    /// Writes a complete fixed-length response (head, body, finish) in one step. It never waits for
    /// buffer space (the body is already in memory); `async` only to keep the option.
    public func send(_ response: HTTPResponse) async throws {
        try sendNow(response)
    }

    func sendNow(_ response: HTTPResponse) throws {
        var headers = response.headers
        let bodyAllowed = !response.status.forbidsBody
        if bodyAllowed { headers.replaceOrAdd(name: "Content-Length", value: String(response.body.count)) }
        let bytes = try state.withLock { state throws -> [UInt8] in
            guard state.phase == .initial else { throw HTTPServerError.invalidResponseState("head already written") }
            let head = try makeHead(status: response.status, headers: headers, state: &state)
            state.phase = .streaming
            state.status = response.status
            var bytes = HTTPResponseEncoder.encodeHead(head)
            if case .fixed = state.framing {
                bytes.append(contentsOf: response.body)
                state.numBodyBytes = response.body.count
                state.framing = .fixed(remaining: 0)
            }
            return bytes
        }
        if case .closed = output.enqueue(bytes, force: true, scheduleFlush: false) {
            throw HTTPServerError.connectionClosed
        }
        finish()
    }

    /// Called by the server after the handler returned or threw: completes whatever the handler left.
    func completeAfterHandler(error: (any Error)?) {
        let phase = state.withLock { $0.phase }
        switch phase {
        case .finished:
            return
        case .streaming:
            if error == nil {
                finish()
            } else {
                // The body is incomplete and its framing cannot say so: close the connection.
                state.withLock { $0.phase = .finished }
                connection.scheduleAbort()
            }
        case .initial:
            let httpError: HTTPError
            if let error = error as? HTTPError {
                httpError = error
            } else if error is HTTPServerError {
                httpError = HTTPError(status: .internalServerError, message: "the response could not be written")
            } else if error != nil {
                httpError = HTTPError(status: .internalServerError, message: "internal server error")
            } else {
                httpError = HTTPError(status: .internalServerError, message: "the handler produced no response")
            }
            let response = HTTPResponse.error(httpError)
            try? sendNow(response)
        }
    }

    private func enqueue(_ bytes: [UInt8], force: Bool) -> ConnectionOutput.EnqueueResult {
        let result = output.enqueue(bytes, force: force)
        if case .enqueued(let needsFlush) = result, needsFlush { connection.scheduleFlush() }
        return result
    }

    private func enqueueBounded(_ bytes: [UInt8]) async throws {
        while true {
            switch enqueue(bytes, force: false) {
            case .enqueued: return
            case .closed: throw HTTPServerError.connectionClosed
            case .full: try await output.waitForSpace(bytes.count)
            }
        }
    }

    /// Builds the response head and decides framing and connection persistence.
    private func makeHead(status: HTTPStatus, headers: HTTPHeaders, state: inout State) throws -> HTTPResponseHead {
        var head = HTTPResponseHead(status: status, headers: state.extraHeaders)
        for field in headers { head.headers.add(name: field.name, value: field.value) }
        if head.headers.tokens(for: "Connection").contains("close") || connection.server.isShuttingDown {
            state.isKeepAlive = false
        }
        if let declared = head.headers["Content-Length"] {
            guard let length = Int(declared), length >= 0 else {
                throw HTTPServerError.invalidResponseState("invalid Content-Length \(declared)")
            }
            state.framing = .fixed(remaining: length)
        } else if status.forbidsBody {
            state.framing = .none
        } else if requestVersion.minor >= 1 {
            head.headers.add(name: "Transfer-Encoding", value: "chunked")
            state.framing = .chunked
        } else {
            state.framing = .untilClose
            state.isKeepAlive = false
        }
        if requestMethod == .head {
            if case .fixed = state.framing {
                state.framing = .none
            } else if case .chunked = state.framing {
                state.framing = .none
            }
        }
        head.headers.remove(name: "Connection")
        if !state.isKeepAlive {
            head.headers.add(name: "Connection", value: "close")
        } else if requestVersion.minor == 0 {
            head.headers.add(name: "Connection", value: "keep-alive")
        }
        if !head.headers.contains("Date") { head.headers.add(name: "Date", value: HTTPDate.current()) }
        return head
    }
}
