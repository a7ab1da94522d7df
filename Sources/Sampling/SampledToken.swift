/// What a `Sampler` returns for one sequence at one step: the chosen token id
/// and, when the request asked for them, its log-probabilities.
public struct SampledToken: Sendable, Equatable {
    /// The chosen token id, in [0, vocabulary size).
    public var tokenID: Int
    /// Present when `SamplingParams.logprobs` is set.
    public var logprobs: TokenLogprobs?

    public init(tokenID: Int, logprobs: TokenLogprobs? = nil) {
        self.tokenID = tokenID
        self.logprobs = logprobs
    }
}
