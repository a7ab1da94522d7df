/// How one request's next tokens are chosen and when its generation stops.
///
/// Travels with a request from the API through the engine to the worker, which
/// builds a `Sampler` from it. Field names follow vLLM's `SamplingParams`.
/// Validation of ranges happens at the API boundary; `validate()` restates it
/// for callers that build parameters directly.
public struct SamplingParams: Sendable, Hashable {
    /// Softmax temperature; 0 means greedy (argmax). Default 1.
    public var temperature: Float = 1
    /// Nucleus sampling: keep the smallest set of tokens whose probability sums to `topP` (0, 1]. Default 1 (off).
    public var topP: Float = 1
    /// Keep only the `topK` most likely tokens; 0 or -1 means off. Default 0.
    public var topK: Int = 0
    /// Drop tokens whose probability is below `minP` × the top probability, [0, 1]. Default 0 (off).
    public var minP: Float = 0
    /// Multiplicative penalty (> 0) on logits of tokens seen in the prompt or output, as in CTRL. Default 1 (off).
    public var repetitionPenalty: Float = 1
    /// Subtracted once from the logit of every token already generated, [-2, 2]. Default 0.
    public var presencePenalty: Float = 0
    /// Subtracted per occurrence from the logit of every generated token, [-2, 2]. Default 0.
    public var frequencyPenalty: Float = 0
    /// Added to the logit of the given token ids before sampling. Default empty.
    public var logitBias: [Int: Float] = [:]
    /// Seed of the request's own RNG; nil draws one at random. Same seed, same tokens.
    public var seed: UInt64? = nil

    /// Maximum number of generated tokens. Default 16 (as OpenAI completions).
    public var maxTokens: Int = 16
    /// EOS and stop token ids are ignored until this many tokens are generated. Default 0.
    public var minTokens: Int = 0
    /// Extra token ids that end generation (the token is part of the output). Default empty.
    public var stopTokenIDs: [Int] = []
    /// Keep generating past EOS. Default false.
    public var ignoreEOS: Bool = false
    /// Number of top log-probabilities to return per generated token; nil for none.
    public var logprobs: Int? = nil

    public init() {}

    /// Greedy decoding: always the most likely token.
    public var isGreedy: Bool { temperature == 0 || topK == 1 }

    /// Checks every range; throws naming the offending parameter.
    public func validate() throws(SamplingError) {
        if !(temperature >= 0) { throw .outOfRange(param: "temperature", "must be >= 0") }
        if !(topP > 0 && topP <= 1) { throw .outOfRange(param: "top_p", "must be in (0, 1]") }
        if topK < -1 { throw .outOfRange(param: "top_k", "must be -1 (off), 0 (off) or positive") }
        if !(minP >= 0 && minP <= 1) { throw .outOfRange(param: "min_p", "must be in [0, 1]") }
        if !(repetitionPenalty > 0) { throw .outOfRange(param: "repetition_penalty", "must be > 0") }
        if !(presencePenalty >= -2 && presencePenalty <= 2) {
            throw .outOfRange(param: "presence_penalty", "must be in [-2, 2]")
        }
        if !(frequencyPenalty >= -2 && frequencyPenalty <= 2) {
            throw .outOfRange(param: "frequency_penalty", "must be in [-2, 2]")
        }
        if maxTokens < 1 { throw .outOfRange(param: "max_tokens", "must be >= 1") }
        if minTokens < 0 || minTokens > maxTokens {
            throw .outOfRange(param: "min_tokens", "must be in [0, max_tokens]")
        }
        if let n = logprobs, n < 0 || n > 20 { throw .outOfRange(param: "logprobs", "must be in [0, 20]") }
    }
}

/// Errors of the `Sampling` module.
public enum SamplingError: Error, Equatable, Sendable {
    /// A parameter outside its documented range; `param` is the OpenAI/vLLM field name.
    case outOfRange(param: String, String)
}
