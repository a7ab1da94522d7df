/// A snapshot of one engine loop's state and cumulative counters, for `/metrics` and load balancing.
///
/// Gauges describe the moment of the snapshot (after the latest step); counters only grow. Per-request
/// latencies are not here: they travel in each request's final `RequestOutput.timings`.
public struct EngineStats: Sendable, Equatable {
    /// The loop's worker.
    public var workerName: String = ""
    /// False once the loop's thread has exited.
    public var isAlive: Bool = true
    /// Requests running (scheduled at least once, holding KV blocks).
    public var numRunning: Int = 0
    /// Requests waiting (new, preempted, or submitted and not yet picked up by the loop).
    public var numWaiting: Int = 0
    /// Fraction of KV blocks in use, 0…1.
    public var kvCacheUsage: Double = 0
    /// KV blocks in all.
    public var numBlocksTotal: Int = 0
    /// KV blocks free (including cached prefixes that may be evicted).
    public var numFreeBlocks: Int = 0
    /// Tokens scheduled in the latest step.
    public var numTokensLastStep: Int = 0
    /// Steps run.
    public var numStepsTotal: Int = 0
    /// Preemptions so far.
    public var numPreemptionsTotal: Int = 0
    /// Prompt tokens looked up in the prefix cache.
    public var prefixCacheQueries: Int = 0
    /// Prompt tokens found in the prefix cache.
    public var prefixCacheHits: Int = 0
    /// Prompt tokens of requests that produced a first token.
    public var numPromptTokensTotal: Int = 0
    /// Tokens generated.
    public var numGenerationTokensTotal: Int = 0
    /// Speculative decoding: draft tokens proposed and verified, and those the model accepted.
    public var numDraftTokensTotal: Int = 0
    public var numAcceptedDraftTokensTotal: Int = 0
    /// Finished requests by reason.
    public var numFinishedByReason: [FinishReason: Int] = [:]
    /// Steps whose worker call threw.
    public var numWorkerErrorsTotal: Int = 0
    /// When the loop last ran an iteration, in `EngineClock` seconds. The loop sleeps when idle, so a stale
    /// value means a stalled worker only while `load > 0` (a stall detector for `/health`).
    public var lastActivityTime: Double = 0

    public init() {}

    /// The routing load: running plus waiting requests.
    public var load: Int { numRunning + numWaiting }

    /// Sums of several loops' stats (usage is recomputed over all blocks; `isAlive` is true if all are).
    public static func combined(_ stats: [EngineStats]) -> EngineStats {
        var total = EngineStats()
        total.workerName = stats.map(\.workerName).joined(separator: ",")
        total.isAlive = stats.allSatisfy(\.isAlive)
        for item in stats {
            total.numRunning += item.numRunning
            total.numWaiting += item.numWaiting
            total.numBlocksTotal += item.numBlocksTotal
            total.numFreeBlocks += item.numFreeBlocks
            total.numTokensLastStep += item.numTokensLastStep
            total.numStepsTotal += item.numStepsTotal
            total.numPreemptionsTotal += item.numPreemptionsTotal
            total.prefixCacheQueries += item.prefixCacheQueries
            total.prefixCacheHits += item.prefixCacheHits
            total.numPromptTokensTotal += item.numPromptTokensTotal
            total.numGenerationTokensTotal += item.numGenerationTokensTotal
            total.numDraftTokensTotal += item.numDraftTokensTotal
            total.numAcceptedDraftTokensTotal += item.numAcceptedDraftTokensTotal
            total.numWorkerErrorsTotal += item.numWorkerErrorsTotal
            total.numFinishedByReason.merge(item.numFinishedByReason, uniquingKeysWith: +)
            total.lastActivityTime = max(total.lastActivityTime, item.lastActivityTime)
        }
        if total.numBlocksTotal > 0 {
            total.kvCacheUsage = Double(total.numBlocksTotal - total.numFreeBlocks) / Double(total.numBlocksTotal)
        }
        return total
    }
}
