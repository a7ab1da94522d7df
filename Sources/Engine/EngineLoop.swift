import Dispatch
import Foundation
import Synchronization
import Tokenizers

/// One engine replica on its own thread: owns an `EngineCore` (scheduler + worker), steps it while there is
/// work, sleeps when idle, and streams each request's outputs to its caller.
///
/// `submit`, `abort`, `stats` and `shutdown` are safe from any thread or task; they only touch the
/// mutex-guarded inbox and wake the thread. The core, the worker and the output continuations are used by
/// the loop thread alone. Lifecycle: see `LoopState`.
public final class EngineLoop: Sendable {
    public let config: EngineConfig
    public let workerInfo: WorkerInfo
    let inbox: Mutex<Inbox>
    let wakeup = DispatchSemaphore(value: 0)

    /// Starts the loop thread. The worker moves into the loop (`sending`): keep no other reference to it.
    public init(
        config: EngineConfig, worker: sending any Worker, tokenizer: any Tokenizer, eosTokenIDs: Set<Int>? = nil
    ) throws(EngineError) {
        let core = try EngineCore(config: config, worker: worker, tokenizer: tokenizer, eosTokenIDs: eosTokenIDs)
        self.config = config
        self.workerInfo = core.workerInfo
        var initialStats = core.stats
        initialStats.isAlive = true
        self.inbox = Mutex(Inbox(stats: initialStats))
        let transfer = CoreTransfer(core)
        let thread = Thread { [self] in self.run(transfer.core) }
        thread.name = "engine-\(workerInfo.name)"
        thread.stackSize = 8 << 20
        thread.start()
    }

    /// Queues requests (all or none) and returns one output stream per request, in order. Throws
    /// `queueFull` when the waiting queue's count or token limit would be exceeded, `shuttingDown` after
    /// `shutdown`, and validation errors. Cancelling a stream's consumer (or dropping the stream) aborts
    /// its request at the next step.
    public func submit(_ requests: [EngineRequest]) throws(EngineError) -> [AsyncStream<RequestOutput>] {
        for request in requests { try request.validate(maxModelLen: config.effectiveMaxModelLen) }
        if let duplicate = Self.firstDuplicate(requests.map(\.requestID)) { throw .duplicateRequestID(duplicate) }
        let config = self.config
        let streams = try inbox.withLock { inbox throws(EngineError) -> [AsyncStream<RequestOutput>] in
            guard inbox.state == .serving else { throw .shuttingDown }
            if let active = requests.first(where: { inbox.activeRequestIDs.contains($0.requestID) }) {
                throw .duplicateRequestID(active.requestID)
            }
            let numWaiting = inbox.numWaiting + inbox.newRequests.count
            let numWaitingTokens = inbox.numWaitingTokens + inbox.numNewRequestTokens
            let numNewTokens = requests.reduce(0) { $0 + $1.promptTokenIDs.count }
            if numWaiting + requests.count > config.maxNumWaitingRequests
                || numWaitingTokens + numNewTokens > config.maxNumWaitingTokens
            {
                throw .queueFull(numWaitingRequests: numWaiting, numWaitingTokens: numWaitingTokens)
            }
            return requests.map { request in
                let (stream, continuation) = AsyncStream.makeStream(of: RequestOutput.self)
                let requestID = request.requestID
                continuation.onTermination = { [weak self] termination in
                    if case .cancelled = termination { self?.abort(requestID) }
                }
                inbox.newRequests.append(Submission(request: request, continuation: continuation))
                inbox.numNewRequestTokens += request.promptTokenIDs.count
                inbox.activeRequestIDs.insert(requestID)
                return stream
            }
        }
        wakeup.signal()
        return streams
    }

    /// Queues one request; see `submit(_:)` for the array.
    public func submit(_ request: EngineRequest) throws(EngineError) -> AsyncStream<RequestOutput> {
        let streams = try submit([request])
        return streams[0]
    }

    /// Aborts an active request at the next step (its stream gets a final `.abort` output); unknown or
    /// finished ids are ignored.
    public func abort(_ requestID: String) {
        let isActive = inbox.withLock { inbox in
            guard inbox.activeRequestIDs.contains(requestID) else { return false }
            inbox.aborts.append(requestID)
            return true
        }
        if isActive { wakeup.signal() }
    }

    /// Whether the id is active (submitted and not finished) in this loop.
    public func isActive(_ requestID: String) -> Bool {
        inbox.withLock { $0.activeRequestIDs.contains(requestID) }
    }

    /// The latest snapshot, with submissions not yet picked up counted as waiting.
    public var stats: EngineStats {
        inbox.withLock { inbox in
            var stats = inbox.stats
            stats.numWaiting = inbox.numWaiting + inbox.newRequests.count
            return stats
        }
    }

    /// Running + waiting requests: what the client balances.
    public var load: Int { stats.load }

    /// Where the loop is in its lifecycle.
    public var state: LoopState { inbox.withLock { $0.state } }

    /// False once the loop thread has exited.
    public var isAlive: Bool { state != .stopped }

    /// Stops accepting requests. With `drain`, active requests run to completion first; otherwise they are
    /// aborted at the next step. The thread then exits. Idempotent; a later non-draining call hurries a drain.
    public func shutdown(drain: Bool) {
        inbox.withLock { inbox in
            switch inbox.state {
            case .serving: inbox.state = drain ? .draining : .stopping
            case .draining: if !drain { inbox.state = .stopping }
            case .stopping, .stopped: break
            }
        }
        wakeup.signal()
    }

    /// Returns once the loop thread has exited (after `shutdown`).
    public func waitUntilStopped() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let isStopped = inbox.withLock { inbox in
                if inbox.state == .stopped { return true }
                inbox.exitWaiters.append(continuation)
                return false
            }
            if isStopped { continuation.resume() }
        }
    }

    private static func firstDuplicate(_ ids: [String]) -> String? {
        var seen: Set<String> = []
        return ids.first { !seen.insert($0).inserted }
    }
}

/// Lifecycle of an `EngineLoop`.
public enum LoopState: Sendable, Equatable {
    /// Accepting and running requests.
    case serving
    /// Refusing new requests; running the active ones to completion, then stopping.
    case draining
    /// Refusing new requests; aborting the active ones at the next step, then stopping.
    case stopping
    /// The thread has exited. Terminal.
    case stopped
}

/// A request handed to the loop thread with the continuation of its output stream.
struct Submission: Sendable {
    var request: EngineRequest
    var continuation: AsyncStream<RequestOutput>.Continuation
}

/// The state shared between submitters and the loop thread, guarded by the loop's mutex.
struct Inbox: Sendable {
    var newRequests: [Submission] = []
    var numNewRequestTokens = 0
    var aborts: [String] = []
    var activeRequestIDs: Set<String> = []
    /// The core's waiting count and tokens (as of the latest step, plus submissions picked up since).
    var numWaiting = 0
    var numWaitingTokens = 0
    var stats: EngineStats
    var state: LoopState = .serving
    var exitWaiters: [CheckedContinuation<Void, Never>] = []
}

/// Moves the core into the loop thread. Unchecked: after `init` only the loop thread touches the core.
private final class CoreTransfer: @unchecked Sendable {
    let core: EngineCore
    init(_ core: EngineCore) { self.core = core }
}
