/// Incremental HTTP/1.x request parser: the first stage of a connection, turning received bytes into
/// request events without ever touching a socket.
///
/// Feed any byte slices with `append(_:)`, then pull events with `next()` until it returns nil (more bytes
/// needed). Each request yields exactly one `.head`, zero or more `.body` slices, and one `.end`; pipelined
/// requests follow in order, and the caller controls the pace (it can stop pulling while it answers one
/// request, leaving later requests buffered). Results do not depend on how the input was split.
///
/// Invariants: the parser never holds more than about `maxHeaderBytes` of an unfinished head or trailer
/// section, nor more than one append's worth of body bytes; after an error every call throws that error
/// again (the connection must answer `error.status` and close).
public struct HTTPRequestParser: Sendable {
    /// One step of a request, in wire order.
    public enum Event: Sendable, Hashable {
        /// The request line and headers; framing of the body is in `head.bodyLength`.
        case head(HTTPRequestHead)
        /// A slice of decoded body bytes (chunk framing removed).
        case body([UInt8])
        /// The request is complete; `trailers` holds chunked trailer fields (usually empty).
        case end(trailers: HTTPHeaders)
    }

    enum State: Sendable {
        case head
        case fixedBody(remaining: Int)
        case chunkSize
        case chunkData(remaining: Int)
        case chunkDataEnd
        case trailers
    }

    /// Limits this parser enforces.
    public let limits: HTTPLimits

    var buffer: [UInt8] = []
    var readIndex = 0
    var state: State = .head
    var failure: HTTP1Error?
    /// Block scanner cursor (head or trailers), relative to `readIndex`.
    var scanOffset = 0
    var lineStartOffset = 0
    var numBlockLines = 0
    /// Request line of the head being scanned, parsed as soon as its line ends.
    var pendingRequestLine: RequestLine?
    /// Decoded body bytes of the current request so far.
    var numBodyBytes = 0

    public init(limits: HTTPLimits = .default) {
        self.limits = limits
    }

    /// Bytes received but not yet turned into events.
    public var numBufferedBytes: Int { buffer.count - readIndex }

    /// True between requests with nothing buffered: an idle keep-alive connection.
    public var isIdle: Bool {
        if case .head = state { return numBufferedBytes == 0 }
        return false
    }

    /// True while a request head is still incomplete (bytes of it have arrived, the blank line has not).
    public var isReadingHead: Bool {
        if case .head = state { return numBufferedBytes > 0 }
        return false
    }

    /// Appends received bytes; call `next()` afterwards.
    public mutating func append(_ bytes: some Collection<UInt8>) {
        compactIfNeeded()
        buffer.append(contentsOf: bytes)
    }

    /// Appends received bytes from raw memory.
    public mutating func append(_ bytes: UnsafeRawBufferPointer) {
        compactIfNeeded()
        buffer.append(contentsOf: bytes)
    }

    /// Returns the next event, or nil when more bytes are needed.
    public mutating func next() throws(HTTP1Error) -> Event? {
        if let failure { throw failure }
        do {
            return try step()
        } catch {
            failure = error
            throw error
        }
    }

    private mutating func step() throws(HTTP1Error) -> Event? {
        switch state {
        case .head:
            return try parseHeadIfComplete()
        case .fixedBody(let remaining):
            if remaining == 0 {
                finishMessage()
                return .end(trailers: HTTPHeaders())
            }
            guard let slice = takeBody(upTo: remaining) else { return nil }
            state = .fixedBody(remaining: remaining - slice.count)
            return .body(slice)
        case .chunkSize:
            return try parseChunkSize()
        case .chunkData(let remaining):
            guard let slice = takeBody(upTo: remaining) else { return nil }
            state = remaining == slice.count ? .chunkDataEnd : .chunkData(remaining: remaining - slice.count)
            return .body(slice)
        case .chunkDataEnd:
            guard let length = lineEndLength(at: readIndex) else { return nil }
            guard length > 0 else { throw .malformed("chunk data not followed by CRLF") }
            readIndex += length
            state = .chunkSize
            return try parseChunkSize()
        case .trailers:
            return try parseTrailersIfComplete()
        }
    }

    private mutating func finishMessage() {
        state = .head
        numBodyBytes = 0
        resetScanner()
    }

    mutating func resetScanner() {
        scanOffset = 0
        lineStartOffset = 0
        numBlockLines = 0
    }

    private mutating func takeBody(upTo remaining: Int) -> [UInt8]? {
        let available = min(remaining, buffer.count - readIndex)
        guard available > 0 else { return nil }
        let slice = Array(buffer[readIndex..<(readIndex + available)])
        readIndex += available
        return slice
    }

    /// Length of a line terminator at `index`: 2 for CRLF, 1 for LF, 0 for another byte, nil if unknown yet.
    func lineEndLength(at index: Int) -> Int? {
        guard index < buffer.count else { return nil }
        switch buffer[index] {
        case UInt8(ascii: "\n"): return 1
        case UInt8(ascii: "\r"):
            guard index + 1 < buffer.count else { return nil }
            return buffer[index + 1] == UInt8(ascii: "\n") ? 2 : 0
        default: return 0
        }
    }

    private mutating func compactIfNeeded() {
        guard readIndex > 0 else { return }
        if readIndex == buffer.count {
            buffer.removeAll(keepingCapacity: buffer.capacity <= 65536)
            readIndex = 0
        } else if readIndex >= 4096 && readIndex * 2 >= buffer.count {
            buffer.removeSubrange(0..<readIndex)
            readIndex = 0
        }
    }
}
