import Synchronization
import Tokenizers

/// The API's entry point to the engine: a pool of `EngineLoop` replicas (data parallel, one per worker)
/// behind one submit/abort/stats surface. New requests go to the least-loaded live loop.
///
/// Sendable; every method is safe from any task. A request lives on one loop from submission to finish;
/// the `n` choices of one API call are submitted together so they share a loop and its prefix cache.
public final class EngineClient: Sendable {
    public let loops: [EngineLoop]
    /// Serialises routing so duplicate ids cannot slip into two loops; also rotates ties.
    private let routing = Mutex(0)

    public init(loops: [EngineLoop]) {
        precondition(!loops.isEmpty, "an engine client needs at least one loop")
        self.loops = loops
    }

    /// Starts `numReplicas` loops with one config; `makeWorker(index)` builds each loop's worker (called
    /// in order on the caller's thread; the worker then moves to its loop). Rethrows the factory's errors.
    public convenience init(
        config: EngineConfig, numReplicas: Int, tokenizer: any Tokenizer, eosTokenIDs: Set<Int>? = nil,
        makeWorker: (Int) throws -> sending any Worker
    ) throws {
        precondition(numReplicas > 0, "numReplicas must be positive")
        var loops: [EngineLoop] = []
        for index in 0..<numReplicas {
            let worker = try makeWorker(index)
            loops.append(try EngineLoop(config: config, worker: worker, tokenizer: tokenizer, eosTokenIDs: eosTokenIDs))
        }
        self.init(loops: loops)
    }

    /// Submits one request; returns its output stream (the last output has a `finishReason`).
    /// Throws `queueFull` (→ 429), `promptTooLong`/`emptyPrompt`/`invalidRequest` (→ 400),
    /// `duplicateRequestID`, or `shuttingDown` (→ 503).
    public func generate(_ request: EngineRequest) throws(EngineError) -> AsyncStream<RequestOutput> {
        let streams = try generate([request])
        return streams[0]
    }

    /// Submits several requests (e.g. the `n` choices of one API call) to one loop, all or none.
    public func generate(_ requests: [EngineRequest]) throws(EngineError) -> [AsyncStream<RequestOutput>] {
        try routing.withLock { counter throws(EngineError) -> [AsyncStream<RequestOutput>] in
            for request in requests where loops.contains(where: { $0.isActive(request.requestID) }) {
                throw .duplicateRequestID(request.requestID)
            }
            let start = counter
            counter &+= 1
            let candidates = loops.indices
                .filter { loops[$0].state == .serving }
                .map {
                    (index: $0, load: loops[$0].load, rotation: ($0 - start % loops.count + loops.count) % loops.count)
                }
                .sorted { ($0.load, $0.rotation) < ($1.load, $1.rotation) }
            var firstRefusal: EngineError = .shuttingDown
            for (position, candidate) in candidates.enumerated() {
                do throws(EngineError) {
                    return try loops[candidate.index].submit(requests)
                } catch {
                    if position == 0 || firstRefusal == .shuttingDown { firstRefusal = error }
                    if case .queueFull = error { continue }
                    if error == .shuttingDown { continue }
                    throw error
                }
            }
            throw firstRefusal
        }
    }

    /// Aborts a request wherever it runs (next step); unknown ids are ignored.
    public func abort(_ requestID: String) {
        for loop in loops { loop.abort(requestID) }
    }

    /// The longest request (prompt + generated tokens) the engine runs: the smallest loop's
    /// `effectiveMaxModelLen` (for `/v1/models` and validation).
    public var maxModelLen: Int { loops.map(\.config.effectiveMaxModelLen).min() ?? 0 }

    /// One snapshot per loop, in loop order.
    public var stats: [EngineStats] { loops.map(\.stats) }

    /// All loops' stats summed.
    public var combinedStats: EngineStats { EngineStats.combined(stats) }

    /// True while every loop's thread runs (for `/health`).
    public var isAlive: Bool { loops.allSatisfy(\.isAlive) }

    /// True while at least one loop accepts requests (for `/ready`).
    public var isReady: Bool { loops.contains { $0.state == .serving } }

    /// Stops every loop (draining active requests first with `drain`) and waits for their threads to exit.
    public func shutdown(drain: Bool) async {
        for loop in loops { loop.shutdown(drain: drain) }
        for loop in loops { await loop.waitUntilStopped() }
    }
}
