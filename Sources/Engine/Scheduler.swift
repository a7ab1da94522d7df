/// The continuous-batching scheduler of one engine loop: decides each step which requests compute how many
/// tokens under the token budget and the KV cache, then folds the worker's samples back into the requests.
///
/// Iteration-level scheduling over a paged KV cache (Yu et al., "Orca", OSDI 2022; Kwon et al.,
/// "PagedAttention", SOSP 2023), organised as vLLM v1's token-centric scheduler: every request has
/// `numComputedTokens` catching up with `numTokens`; prefill chunks and decode tokens share one budget.
/// Owned by the loop thread. `schedule()` runs in phases: running requests, waiting requests, output.
/// Invariants: `running.count <= maxNumSeqs`; a request is in exactly one of `running` and `waiting` until
/// it finishes, then in neither and not in `requests`.
final class Scheduler {
    let config: EngineConfig
    /// `config.effectiveMaxModelLen`.
    let maxModelLen: Int
    let eosTokenIDs: Set<Int>
    var kvCacheManager: KVCacheManager
    var waiting: RequestQueue
    var running: [Request] = []
    private(set) var requests: [String: Request] = [:]
    /// Finished since the last `schedule()`; told to the worker then.
    var finishedSinceLastStep: Set<String> = []
    var stepID = 0
    // Cumulative counters for metrics.
    var numPreemptionsTotal = 0
    var numPromptTokensTotal = 0
    var numGenerationTokensTotal = 0
    var numLastStepTokens = 0
    var numDraftTokensTotal = 0
    var numAcceptedDraftTokensTotal = 0
    /// Drafts for speculative decoding; nil when `numSpeculativeTokens` is 0.
    let proposer: NgramProposer?

    init(config: EngineConfig, eosTokenIDs: Set<Int>) {
        self.config = config
        self.maxModelLen = config.effectiveMaxModelLen
        self.eosTokenIDs = eosTokenIDs
        kvCacheManager = KVCacheManager(
            numBlocks: config.numBlocks, blockSize: config.blockSize,
            enablePrefixCaching: config.enablePrefixCaching)
        waiting = RequestQueue(policy: config.schedulingPolicy)
        proposer =
            config.numSpeculativeTokens > 0
            ? NgramProposer(
                numSpeculativeTokens: config.numSpeculativeTokens, minN: config.promptLookupMin,
                maxN: config.promptLookupMax) : nil
    }

    /// Whether a step has anything to do (requests, or finished ids the worker has not heard of).
    var hasWork: Bool { !requests.isEmpty || !finishedSinceLastStep.isEmpty }

    func request(_ requestID: String) -> Request? { requests[requestID] }

    /// Queues a validated request.
    func add(_ request: Request) {
        precondition(requests[request.requestID] == nil, "duplicate request id \(request.requestID)")
        requests[request.requestID] = request
        waiting.insert(request)
    }

    /// Finishes a request wherever it is: releases its blocks and records its id for the worker.
    func finish(_ request: Request, reason: FinishReason, now: Double) {
        switch request.status {
        case .running:
            running.removeAll { $0 === request }
        case .waiting, .preempted:
            _ = waiting.remove(requestID: request.requestID)
        case .finished:
            preconditionFailure("request \(request.requestID) finished twice")
        }
        kvCacheManager.free(requestID: request.requestID)
        request.status = .finished(reason)
        request.numComputedTokens = 0
        request.timings.finishedTime = now
        requests[request.requestID] = nil
        finishedSinceLastStep.insert(request.requestID)
    }

    /// Frees the blocks of a running request and puts it back in the waiting queue for recomputation.
    func preempt(_ request: Request) {
        precondition(request.status == .running, "only running requests are preempted")
        running.removeAll { $0 === request }
        kvCacheManager.free(requestID: request.requestID)
        request.status = .preempted
        request.numComputedTokens = 0
        request.timings.numPreemptions += 1
        numPreemptionsTotal += 1
        waiting.insert(request)
    }

    /// Tokens to schedule for a request that needs `numTokens` more: capped by the long-prefill threshold
    /// and the remaining budget.
    func capped(_ numTokens: Int, budget: Int) -> Int {
        var count = numTokens
        if config.longPrefillTokenThreshold > 0 { count = min(count, config.longPrefillTokenThreshold) }
        return min(count, budget)
    }
}

/// The scheduling decisions of one step, built by the phases of `Scheduler.schedule`.
struct StepPlan {
    var tokenBudget: Int
    /// Running requests scheduled again (not resumed), in order.
    var scheduledRunning: [Request] = []
    /// Requests scheduled for the first time.
    var scheduledNew: [Request] = []
    /// Preempted requests scheduled again.
    var scheduledResumed: [Request] = []
    var numScheduledTokens: [String: Int] = [:]
    /// Draft tokens of running requests (part of their `numScheduledTokens`).
    var draftTokenIDs: [String: [Int]] = [:]
    var newBlockIDs: [String: [Int]] = [:]
    /// Preempted in this step.
    var preempted: [Request] = []

    /// Takes back a running request scheduled earlier in this step (it was preempted).
    mutating func unschedule(_ request: Request) {
        guard let count = numScheduledTokens.removeValue(forKey: request.requestID) else { return }
        tokenBudget += count
        newBlockIDs[request.requestID] = nil
        draftTokenIDs[request.requestID] = nil
        scheduledRunning.removeAll { $0 === request }
    }
}
