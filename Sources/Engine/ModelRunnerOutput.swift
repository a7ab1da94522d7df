/// A worker's answer to one `SchedulerOutput`: the tokens it sampled, per request.
///
/// Only requests whose scheduled tokens reached the end of their token list have an entry; partial
/// prefill chunks have none. Normally one token per request (more only for speculative decoding).
public struct ModelRunnerOutput: Sendable, Equatable {
    /// Sampled token ids per request id.
    public var sampledTokenIDs: [String: [Int]]
    /// Log-probabilities per request id, one entry per sampled token, when the request asked for them.
    public var logprobs: [String: [SampleLogprob]]

    public init(sampledTokenIDs: [String: [Int]] = [:], logprobs: [String: [SampleLogprob]] = [:]) {
        self.sampledTokenIDs = sampledTokenIDs
        self.logprobs = logprobs
    }

    /// No tokens (an empty step).
    public static let empty = ModelRunnerOutput()
}

/// The log-probability of one sampled token and the `logprobs` most likely alternatives.
public struct SampleLogprob: Sendable, Equatable {
    /// The sampled token.
    public var tokenID: Int
    /// Its log-probability (natural log, after temperature).
    public var logprob: Float
    /// The top alternatives, most likely first (may include the sampled token).
    public var topLogprobs: [TopLogprob]

    public init(tokenID: Int, logprob: Float, topLogprobs: [TopLogprob] = []) {
        self.tokenID = tokenID
        self.logprob = logprob
        self.topLogprobs = topLogprobs
    }
}

/// One of the top alternatives of a `SampleLogprob`.
public struct TopLogprob: Sendable, Equatable {
    public var tokenID: Int
    public var logprob: Float

    public init(tokenID: Int, logprob: Float) {
        self.tokenID = tokenID
        self.logprob = logprob
    }
}
