import Synchronization

/// Response bytes waiting to be written to one connection, shared by the handler's `ResponseWriter`
/// (any thread) and the connection's event loop (which drains it into the socket).
///
/// Invariants: `numBufferedBytes` is the sum of unwritten bytes; a bounded enqueue is admitted only when
/// the buffer is empty or the bytes fit under `maxBufferedBytes`, so the buffer never exceeds
/// `max(maxBufferedBytes, largest single write)` plus small framing (heads, chunk trailers). At most one
/// writer waits for space at a time (one response per connection at a time).
final class ConnectionOutput: Sendable {
    struct State {
        /// Pending chunks; those before `firstChunk` are already written.
        var chunks: [[UInt8]] = []
        var firstChunk = 0
        /// Bytes of `chunks[firstChunk]` already written.
        var offset = 0
        var numBufferedBytes = 0
        var isClosed = false
        var isFlushScheduled = false
        var waiter: (numBytes: Int, continuation: CheckedContinuation<Void, any Error>)?
        var closeCallbacks: [@Sendable () -> Void] = []
        var isResponseFinished = false
    }

    enum EnqueueResult {
        case enqueued(needsFlush: Bool)
        case full
        case closed
    }

    let maxBufferedBytes: Int
    private let state = Mutex(State())
    private let stats: ServerStats

    init(maxBufferedBytes: Int, stats: ServerStats) {
        self.maxBufferedBytes = maxBufferedBytes
        self.stats = stats
    }

    var isClosed: Bool { state.withLock { $0.isClosed } }
    /// Whether the connection closed while a response was still unfinished.
    var isClosedBeforeFinish: Bool { state.withLock { $0.isClosed && !$0.isResponseFinished } }
    var numBufferedBytes: Int { state.withLock { $0.numBufferedBytes } }

    /// Appends `bytes` if they fit (or `force`); `needsFlush` tells the caller to schedule a loop flush.
    func enqueue(_ bytes: [UInt8], force: Bool = false, scheduleFlush: Bool = true) -> EnqueueResult {
        let (result, total) = state.withLock { state -> (EnqueueResult, Int) in
            if state.isClosed { return (.closed, 0) }
            if bytes.isEmpty { return (.enqueued(needsFlush: false), state.numBufferedBytes) }
            guard force || fits(bytes.count, state) else { return (.full, 0) }
            state.chunks.append(bytes)
            state.numBufferedBytes += bytes.count
            var needsFlush = false
            if scheduleFlush && !state.isFlushScheduled {
                state.isFlushScheduled = true
                needsFlush = true
            }
            return (.enqueued(needsFlush: needsFlush), state.numBufferedBytes)
        }
        stats.recordBuffered(total)
        return result
    }

    /// Suspends until `numBytes` would fit, or throws when the connection closes meanwhile.
    func waitForSpace(_ numBytes: Int) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            enum Action {
                case resume, fail, wait
            }
            let action = state.withLock { state -> Action in
                if state.isClosed { return .fail }
                if fits(numBytes, state) { return .resume }
                precondition(state.waiter == nil, "two concurrent writes on one response")
                state.waiter = (numBytes, continuation)
                return .wait
            }
            switch action {
            case .resume: continuation.resume()
            case .fail: continuation.resume(throwing: HTTPServerError.connectionClosed)
            case .wait: break
            }
        }
    }

    private func fits(_ numBytes: Int, _ state: State) -> Bool {
        state.numBufferedBytes == 0 || state.numBufferedBytes + numBytes <= maxBufferedBytes
    }

    /// Loop side: copies up to `buffer.count` pending bytes (several small chunks coalesce into one
    /// socket write) and returns how many; 0 when empty, which also clears the flush-scheduled flag so the
    /// next enqueue schedules a flush. The bytes stay pending until `consume`.
    func copyPending(into buffer: UnsafeMutableRawBufferPointer) -> Int {
        state.withLock { state in
            var numCopied = 0
            var index = state.firstChunk
            var offset = state.offset
            while index < state.chunks.count && numCopied < buffer.count {
                let numBytes = state.chunks[index].withUnsafeBytes { chunk in
                    let count = min(chunk.count - offset, buffer.count - numCopied)
                    guard count > 0, let source = chunk.baseAddress, let target = buffer.baseAddress else { return 0 }
                    (target + numCopied).copyMemory(from: source + offset, byteCount: count)
                    return count
                }
                numCopied += numBytes
                index += 1
                offset = 0
            }
            if numCopied == 0 { state.isFlushScheduled = false }
            return numCopied
        }
    }

    /// Loop side: `numBytes` pending bytes were written; wakes a waiting writer whose bytes now fit.
    func consume(_ numBytes: Int) {
        let continuation = state.withLock { state -> CheckedContinuation<Void, any Error>? in
            state.numBufferedBytes -= numBytes
            var remaining = numBytes
            while remaining > 0 && state.firstChunk < state.chunks.count {
                let available = state.chunks[state.firstChunk].count - state.offset
                if remaining < available {
                    state.offset += remaining
                    remaining = 0
                } else {
                    remaining -= available
                    state.chunks[state.firstChunk] = []
                    state.firstChunk += 1
                    state.offset = 0
                }
            }
            if state.firstChunk == state.chunks.count {
                state.chunks.removeAll(keepingCapacity: true)
                state.firstChunk = 0
            } else if state.firstChunk >= 64 && state.firstChunk * 2 >= state.chunks.count {
                state.chunks.removeSubrange(0..<state.firstChunk)
                state.firstChunk = 0
            }
            if let waiter = state.waiter, fits(waiter.numBytes, state) {
                state.waiter = nil
                return waiter.continuation
            }
            return nil
        }
        continuation?.resume()
    }

    /// Registers a callback run once if the connection closes before the response finished; runs it at
    /// once when that already happened.
    func addCloseCallback(_ callback: @escaping @Sendable () -> Void) {
        let runNow = state.withLock { state -> Bool in
            if state.isClosed { return !state.isResponseFinished }
            if state.isResponseFinished { return false }
            state.closeCallbacks.append(callback)
            return false
        }
        if runNow { callback() }
    }

    /// The response ended normally: close callbacks will not run.
    func markResponseFinished() {
        state.withLock { state in
            state.isResponseFinished = true
            state.closeCallbacks.removeAll()
        }
    }

    /// A new response starts on this connection (keep-alive).
    func resetForNextResponse() {
        state.withLock { $0.isResponseFinished = false }
    }

    /// Loop side: the connection closed; fails a waiting writer and runs close callbacks.
    func close() {
        let (continuation, callbacks) = state.withLock { state in
            state.isClosed = true
            state.chunks.removeAll()
            state.firstChunk = 0
            state.offset = 0
            state.numBufferedBytes = 0
            let waiter = state.waiter
            state.waiter = nil
            let callbacks = state.closeCallbacks
            state.closeCallbacks.removeAll()
            return (waiter?.continuation, callbacks)
        }
        continuation?.resume(throwing: HTTPServerError.connectionClosed)
        for callback in callbacks { callback() }
    }
}

/// Server-wide counters observable by tests and the daemon.
final class ServerStats: Sendable {
    let numOpenConnections = Atomic<Int>(0)
    let numRejectingConnections = Atomic<Int>(0)
    let peakBufferedBytes = Atomic<Int>(0)
    let numAcceptedConnections = Atomic<Int>(0)

    func recordBuffered(_ numBytes: Int) {
        var current = peakBufferedBytes.load(ordering: .relaxed)
        while numBytes > current {
            let (exchanged, original) = peakBufferedBytes.compareExchange(
                expected: current, desired: numBytes, ordering: .relaxed)
            if exchanged { return }
            current = original
        }
    }
}
