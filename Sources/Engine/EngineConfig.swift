/// Knobs of one engine loop: scheduling limits, paged KV cache size and admission control.
///
/// Every replica (one loop per worker) gets the same config. Limits are counts of tokens, sequences or
/// blocks; `validate()` checks the ranges. The composition root computes `numBlocks` from the KV memory
/// budget with `EngineConfig.numBlocks(kvCacheBytes:bytesPerToken:blockSize:)`.
public struct EngineConfig: Sendable, Equatable {
    /// Tokens per KV cache block (vLLM's `block_size`). Default 16.
    public var blockSize: Int = 16
    /// Number of KV cache blocks of one worker (`numBlocks * blockSize` tokens of KV in all). Required.
    public var numBlocks: Int
    /// Token budget of one step: prefill chunks plus decode tokens of all scheduled requests. Default 2048.
    public var maxNumBatchedTokens: Int = 2048
    /// Maximum number of running requests (sequences) in one step. Default 256.
    public var maxNumSeqs: Int = 256
    /// Maximum tokens (prompt + generated) of one request. Default 4096. The engine also caps it at
    /// `numBlocks * blockSize` so that one request always fits in the cache.
    public var maxModelLen: Int = 4096
    /// Split prompts longer than the step's remaining budget across steps. Default true. When false,
    /// `maxNumBatchedTokens` must be at least `maxModelLen`.
    public var enableChunkedPrefill: Bool = true
    /// Per-request cap on prefill tokens in one step, so one long prompt cannot take a whole step; 0 = off.
    public var longPrefillTokenThreshold: Int = 0
    /// Reuse KV blocks of identical prompt prefixes across requests (automatic prefix caching). Default true.
    public var enablePrefixCaching: Bool = true
    /// Order of admission and of preemption. Default `.fcfs`.
    public var schedulingPolicy: SchedulingPolicy = .fcfs
    /// Maximum number of requests waiting (not yet running, or preempted); beyond it `queueFull`. Default 1024.
    public var maxNumWaitingRequests: Int = 1024
    /// Maximum total tokens of all waiting requests; beyond it `queueFull`. Default 1,048,576.
    public var maxNumWaitingTokens: Int = 1 << 20
    /// Speculative decoding by prompt lookup (`NgramProposer`): draft tokens proposed per decode step and
    /// verified in the same forward pass. 0 (default) = off.
    public var numSpeculativeTokens: Int = 0
    /// Shortest and longest n-gram the proposer looks up. Defaults 2 and 4.
    public var promptLookupMin: Int = 2
    public var promptLookupMax: Int = 4
    /// No drafts while more requests than this are running (0 = no limit), as vLLM's
    /// `disable_by_batch_size`: a step of many sequences is already compute-bound on a CPU, where every
    /// draft row costs as much as a sequence's token. Default 8.
    public var speculativeDisableByBatchSize: Int = 8

    public init(numBlocks: Int) {
        self.numBlocks = numBlocks
    }

    /// Number of whole blocks that fit in `kvCacheBytes` when one token's KV (all layers, K and V) takes
    /// `bytesPerToken` bytes. Returns 0 when not even one block fits.
    public static func numBlocks(kvCacheBytes: Int, bytesPerToken: Int, blockSize: Int = 16) -> Int {
        precondition(bytesPerToken > 0 && blockSize > 0, "bytesPerToken and blockSize must be positive")
        guard kvCacheBytes > 0 else { return 0 }
        return kvCacheBytes / (bytesPerToken * blockSize)
    }

    /// The longest request the engine runs: `maxModelLen`, capped by the whole KV cache.
    public var effectiveMaxModelLen: Int { min(maxModelLen, numBlocks * blockSize) }

    /// Checks every range; throws naming the offending field.
    public func validate() throws(EngineError) {
        if blockSize < 1 { throw .invalidConfig("blockSize must be >= 1") }
        if numBlocks < 1 { throw .invalidConfig("numBlocks must be >= 1 (is the KV cache budget too small?)") }
        if maxNumBatchedTokens < 1 { throw .invalidConfig("maxNumBatchedTokens must be >= 1") }
        if maxNumSeqs < 1 { throw .invalidConfig("maxNumSeqs must be >= 1") }
        if maxModelLen < 2 { throw .invalidConfig("maxModelLen must be >= 2") }
        if effectiveMaxModelLen < 2 { throw .invalidConfig("the KV cache holds fewer than 2 tokens") }
        if longPrefillTokenThreshold < 0 { throw .invalidConfig("longPrefillTokenThreshold must be >= 0") }
        if !enableChunkedPrefill && maxNumBatchedTokens < effectiveMaxModelLen {
            throw .invalidConfig("without chunked prefill, maxNumBatchedTokens must be >= maxModelLen")
        }
        if maxNumWaitingRequests < 1 { throw .invalidConfig("maxNumWaitingRequests must be >= 1") }
        if maxNumWaitingTokens < 1 { throw .invalidConfig("maxNumWaitingTokens must be >= 1") }
        if !(0...16).contains(numSpeculativeTokens) { throw .invalidConfig("numSpeculativeTokens must be in 0...16") }
        if speculativeDisableByBatchSize < 0 { throw .invalidConfig("speculativeDisableByBatchSize must be >= 0") }
        if promptLookupMin < 1 || promptLookupMax < promptLookupMin {
            throw .invalidConfig("need 1 <= promptLookupMin <= promptLookupMax")
        }
    }
}

/// Order in which waiting requests are admitted and running ones preempted.
public enum SchedulingPolicy: String, Sendable, CaseIterable {
    /// First come, first served: admit by arrival time; preempt the latest arrival first.
    case fcfs
    /// Lower `priority` value first, then earlier arrival; preempt the highest value (latest arrival on ties).
    case priority
}
