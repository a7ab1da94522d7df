/// The shape of one scheduled step as the NPU cost model sees it: prefill
/// chunks (new tokens over an optional cached prefix) and decode sequences
/// (one new token each, with their context lengths).
///
/// Plain data, independent of the Engine's `SchedulerOutput`; the NPU worker
/// will build one from it. Invariants (checked by `validate()`): chunks have
/// at least one new token and no negative prefix; decode context lengths ≥ 1.
public struct NPUBatch: Sendable, Equatable {
    /// Prompt tokens of one sequence computed in this step.
    public struct PrefillChunk: Sendable, Equatable {
        /// Tokens computed now.
        public var numNewTokens: Int
        /// Tokens of the same sequence already in the KV cache.
        public var numCachedTokens: Int

        public init(numNewTokens: Int, numCachedTokens: Int = 0) {
            self.numNewTokens = numNewTokens
            self.numCachedTokens = numCachedTokens
        }
    }

    public var prefillChunks: [PrefillChunk]
    /// Per decoding sequence: tokens attended to, the new one included.
    public var decodeContextLengths: [Int]

    public init(prefillChunks: [PrefillChunk] = [], decodeContextLengths: [Int] = []) {
        self.prefillChunks = prefillChunks
        self.decodeContextLengths = decodeContextLengths
    }

    /// `numPrefillTokens` as one fresh prompt (none when 0) plus decodes.
    public init(numPrefillTokens: Int, decodeContextLengths: [Int] = []) {
        self.init(
            prefillChunks: numPrefillTokens > 0 ? [PrefillChunk(numNewTokens: numPrefillTokens)] : [],
            decodeContextLengths: decodeContextLengths)
    }

    /// `numSeqs` decoding sequences of `contextLength` tokens each.
    public static func decode(numSeqs: Int, contextLength: Int) -> NPUBatch {
        NPUBatch(decodeContextLengths: Array(repeating: contextLength, count: numSeqs))
    }

    /// Tokens computed in the step.
    public var numTokens: Int { prefillChunks.reduce(0) { $0 + $1.numNewTokens } + decodeContextLengths.count }

    /// Sequences in the step (each yields one row of logits).
    public var numSeqs: Int { prefillChunks.count + decodeContextLengths.count }

    /// Query-key pairs of causal attention, per head: a chunk of q new tokens
    /// over c cached ones scores q·c + q(q+1)/2 pairs; a decode of context L
    /// scores L.
    public var numAttentionPairs: Double {
        let prefill = prefillChunks.reduce(0.0) { total, chunk in
            let q = Double(chunk.numNewTokens)
            return total + q * Double(chunk.numCachedTokens) + q * (q + 1) / 2
        }
        return prefill + decodeContextLengths.reduce(0.0) { $0 + Double($1) }
    }

    /// Token positions whose K and V are read from the cache, assuming each
    /// sequence's K/V is read once (flash attention keeps Q tiles on chip).
    public var numKVTokensRead: Int {
        prefillChunks.reduce(0) { $0 + $1.numCachedTokens + $1.numNewTokens } + decodeContextLengths.reduce(0, +)
    }

    /// Throws `NPUError.invalidArgument` when the batch breaks its invariants.
    public func validate() throws {
        if numTokens == 0 { throw NPUError.invalidArgument(name: "batch", reason: "no tokens") }
        if prefillChunks.contains(where: { $0.numNewTokens < 1 || $0.numCachedTokens < 0 }) {
            throw NPUError.invalidArgument(name: "batch", reason: "a prefill chunk needs ≥ 1 new and ≥ 0 cached tokens")
        }
        if decodeContextLengths.contains(where: { $0 < 1 }) {
            throw NPUError.invalidArgument(name: "batch", reason: "decode context lengths must be ≥ 1")
        }
    }
}
