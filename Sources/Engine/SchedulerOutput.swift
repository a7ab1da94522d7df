import Sampling

/// One step's work for a worker, as a diff against what the worker already knows (after vLLM v1's
/// `SchedulerOutput`): requests seen for the first time carry their prompt and block table; requests
/// already known carry only new block ids. See `Worker` for how to apply it.
///
/// Invariants: every id in `numScheduledTokens` appears in exactly one of `scheduledNewRequests` and
/// `scheduledCachedRequests`; `totalNumScheduledTokens` is the sum of `numScheduledTokens`, at most the
/// engine's `maxNumBatchedTokens`; a request's block table covers positions `0 ..< numComputedTokens +
/// numScheduledTokens[id]`.
public struct SchedulerOutput: Sendable {
    /// Increasing step number of this engine loop (for logs).
    public var stepID: Int
    /// Requests the worker has not seen (or whose state it dropped at `finishedRequestIDs`).
    public var scheduledNewRequests: [NewRequestData]
    /// Requests the worker already knows: running ones, and preempted ones coming back.
    public var scheduledCachedRequests: [CachedRequestData]
    /// Tokens to compute per scheduled request id, in this step.
    public var numScheduledTokens: [String: Int]
    /// Sum of `numScheduledTokens`.
    public var totalNumScheduledTokens: Int
    /// Requests finished (any reason) since the previous step: drop their state.
    public var finishedRequestIDs: Set<String>
    /// Requests preempted in this step: their blocks are freed; they will come back as resumed.
    public var preemptedRequestIDs: Set<String>
    /// Tokens per KV block.
    public var blockSize: Int
    /// Draft tokens to verify per request (speculative decoding): they follow the request's known tokens
    /// and are counted in its `numScheduledTokens`. The worker samples each drafted position in turn and
    /// stops at the first sample that differs from the draft, returning the accepted drafts plus that
    /// sample (or one more token when all were accepted).
    public var scheduledSpecDecodeTokens: [String: [Int]]

    public init(
        stepID: Int, scheduledNewRequests: [NewRequestData], scheduledCachedRequests: [CachedRequestData],
        numScheduledTokens: [String: Int], finishedRequestIDs: Set<String>, preemptedRequestIDs: Set<String>,
        blockSize: Int, scheduledSpecDecodeTokens: [String: [Int]] = [:]
    ) {
        self.stepID = stepID
        self.scheduledNewRequests = scheduledNewRequests
        self.scheduledCachedRequests = scheduledCachedRequests
        self.numScheduledTokens = numScheduledTokens
        self.totalNumScheduledTokens = numScheduledTokens.values.reduce(0, +)
        self.finishedRequestIDs = finishedRequestIDs
        self.preemptedRequestIDs = preemptedRequestIDs
        self.blockSize = blockSize
        self.scheduledSpecDecodeTokens = scheduledSpecDecodeTokens
    }

    /// Scheduled request ids in a stable order: cached requests first, then new ones.
    public var scheduledRequestIDs: [String] {
        scheduledCachedRequests.map(\.requestID) + scheduledNewRequests.map(\.requestID)
    }
}

/// A request scheduled for the first time: everything the worker needs to start it.
public struct NewRequestData: Sendable {
    public var requestID: String
    /// The whole prompt.
    public var promptTokenIDs: [Int]
    public var samplingParams: SamplingParams
    /// The request's block table so far (prefix-cache hits first).
    public var blockIDs: [Int]
    /// Prompt tokens already in the KV cache (prefix-cache hits, a multiple of the block size): the worker
    /// starts computing at this position.
    public var numComputedTokens: Int

    public init(
        requestID: String, promptTokenIDs: [Int], samplingParams: SamplingParams, blockIDs: [Int],
        numComputedTokens: Int
    ) {
        self.requestID = requestID
        self.promptTokenIDs = promptTokenIDs
        self.samplingParams = samplingParams
        self.blockIDs = blockIDs
        self.numComputedTokens = numComputedTokens
    }
}

/// A request the worker already knows, scheduled again.
public struct CachedRequestData: Sendable {
    public var requestID: String
    /// True when the request was preempted and is now recomputed from scratch (or from prefix hits).
    public var resumedFromPreemption: Bool
    /// Only when resumed: the full token list (prompt + every token generated so far).
    public var resumedTokenIDs: [Int]?
    /// Block ids to append to the block table; when resumed, the whole new block table.
    public var newBlockIDs: [Int]
    /// Tokens of the request already in the KV cache before this step.
    public var numComputedTokens: Int

    public init(
        requestID: String, resumedFromPreemption: Bool, resumedTokenIDs: [Int]?, newBlockIDs: [Int],
        numComputedTokens: Int
    ) {
        self.requestID = requestID
        self.resumedFromPreemption = resumedFromPreemption
        self.resumedTokenIDs = resumedTokenIDs
        self.newBlockIDs = newBlockIDs
        self.numComputedTokens = numComputedTokens
    }
}
