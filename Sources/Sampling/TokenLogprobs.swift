import Foundation

/// Log-probabilities reported for one generated token (OpenAI `logprobs`): the
/// sampled token's own and the `numTop` most likely alternatives.
///
/// Which logits: the `Sampler` computes these from the *processed* logits, after
/// logit bias, min-tokens suppression and the repetition/presence/frequency
/// penalties, but before temperature, top-k, top-p and min-p, so they describe
/// the model's (penalised) distribution and do not change with the sampling knobs.
/// vLLM v1's default (`logprobs_mode="raw_logprobs"`) reads the logits before the
/// penalties; callers who want that call `init(logits:...)` on the raw logits
/// before `Sampler.sample`.
///
/// Invariants: `top` is best first (higher logprob, then lower id) and holds
/// min(numTop, vocabulary size) entries; `sampledRank` is 1 for the best token.
public struct TokenLogprobs: Sendable, Equatable {
    /// The sampled token and its log-probability.
    public var sampled: TokenLogprob
    /// 1-based rank of the sampled token among the whole vocabulary.
    public var sampledRank: Int
    /// The most likely tokens, best first.
    public var top: [TokenLogprob]

    public init(sampled: TokenLogprob, sampledRank: Int, top: [TokenLogprob]) {
        self.sampled = sampled
        self.sampledRank = sampledRank
        self.top = top
    }

    /// Log-softmax of `logits` at `sampledTokenID`, plus the `numTop` best tokens.
    /// Cost: two passes over the vocabulary plus an O(V log numTop) selection.
    public init(logits: UnsafeBufferPointer<Float>, sampledTokenID: Int, numTop: Int) {
        precondition(logits.indices.contains(sampledTokenID), "sampled token id outside the vocabulary")
        let logNormalizer = Self.logSumExp(logits)
        func logprob(_ id: Int) -> Float {
            Float(Double(TokenRanking.key(logits[id])) - logNormalizer)
        }
        sampled = TokenLogprob(tokenID: sampledTokenID, logprob: logprob(sampledTokenID))
        sampledRank = TokenRanking.rank(of: sampledTokenID, in: logits)
        top = TokenRanking.top(numTop, of: logits).map { TokenLogprob(tokenID: Int($0), logprob: logprob(Int($0))) }
    }

    /// log(Σ exp(logits)), computed stably around the maximum, in double precision.
    static func logSumExp(_ logits: UnsafeBufferPointer<Float>) -> Double {
        let maxLogit = VectorMath.maxKey(logits)
        guard maxLogit.isFinite else { return Double(maxLogit) }
        return Double(maxLogit) + Foundation.log(VectorMath.sumExp(logits, shift: maxLogit))
    }
}
