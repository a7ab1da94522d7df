/// Chooses each next token of one request from the model's logits, applying that
/// request's `SamplingParams`.
///
/// The worker keeps one `Sampler` per request for the request's whole life (across
/// preemption too), because it owns the state sampling depends on: the request's
/// seeded `SamplerRNG` and the counts of the tokens generated so far, which the
/// penalties and min-tokens read. Each step, `sample(logits:)` applies in vLLM's order
///   1. logit bias,
///   2. min-tokens: EOS (unless `ignoreEOS`) and `stopTokenIDs` get -infinity while
///      fewer than `minTokens` tokens have been generated,
///   3. repetition penalty over prompt and output tokens (CTRL, Keskar et al. 2019:
///      a positive logit is divided by the penalty, a negative one multiplied),
///   4. frequency then presence penalty over output tokens (OpenAI's definition),
/// then takes the argmax when greedy, else draws from the `FilteredDistribution`
/// (temperature, top-k, top-p, min-p) with one uniform number from the RNG.
///
/// Invariants: greedy steps consume no random numbers, random steps exactly one, so
/// a request's tokens depend only on its seed and its logits; the weights come from
/// `VectorMath.exp` (IEEE additions and multiplications only), so the same seed and
/// logits give the same tokens on every platform. Token ids outside the
/// logits buffer (in `logitBias`, the stop ids or the prompt) are ignored; the API
/// boundary rejects them. The logits buffer is modified in place by steps 1–4 only.
public struct Sampler: Sendable {
    /// The request's parameters, fixed for its life.
    public let params: SamplingParams
    /// The model's end-of-sequence token id, if any.
    public let eosTokenID: Int?
    /// The seed the RNG started from (`params.seed`, or a random one).
    public let seed: UInt64
    /// Number of tokens generated so far (recorded by `sample` or `recordOutputToken`).
    public private(set) var numGeneratedTokens: Int = 0
    /// How often each token id occurs in the output so far.
    public private(set) var outputTokenCounts: [Int: Int] = [:]

    private var rng: SamplerRNG
    /// Token ids suppressed by min-tokens.
    private let minTokensSuppressedIDs: [Int]
    /// Distinct ids of prompt and output, in first-seen order; kept only when the
    /// repetition penalty is on.
    private var repeatedTokenIDs: [Int] = []
    private var repeatedTokenSet: Set<Int> = []

    /// Creates the sampler of one request.
    /// - Parameters:
    ///   - promptTokenIDs: the prompt, read by the repetition penalty.
    ///   - eosTokenID: the model's EOS id, suppressed during `minTokens` unless `ignoreEOS`.
    ///   - outputTokenIDs: tokens already generated (when restoring a request).
    public init(
        params: SamplingParams, promptTokenIDs: some Sequence<Int>, eosTokenID: Int?, outputTokenIDs: [Int] = []
    ) {
        self.params = params
        self.eosTokenID = eosTokenID
        self.seed = params.seed ?? SamplerRNG.randomSeed()
        self.rng = SamplerRNG(seed: seed)
        var suppressed = params.stopTokenIDs
        if let eosTokenID, !params.ignoreEOS { suppressed.append(eosTokenID) }
        minTokensSuppressedIDs = suppressed
        if params.repetitionPenalty != 1 {
            for id in promptTokenIDs { noteRepeated(id) }
        }
        for id in outputTokenIDs { recordOutputToken(id) }
    }

    /// Chooses the next token from `logits` [vocabularySize] and records it as generated.
    /// `logits` is left holding the processed logits (after bias, min-tokens, penalties).
    public mutating func sample(logits: UnsafeMutableBufferPointer<Float>) -> SampledToken {
        precondition(!logits.isEmpty, "sampling needs a non-empty vocabulary")
        processLogits(logits)
        let processed = UnsafeBufferPointer(logits)
        let tokenID: Int
        if params.isGreedy {
            tokenID = TokenRanking.argmax(processed)
        } else {
            let distribution = FilteredDistribution(
                logits: processed, temperature: params.temperature,
                topK: params.topK, topP: params.topP, minP: params.minP)
            tokenID = distribution.draw(rng.nextUnitInterval())
        }
        var logprobs: TokenLogprobs? = nil
        if let numTop = params.logprobs {
            logprobs = TokenLogprobs(logits: processed, sampledTokenID: tokenID, numTop: numTop)
        }
        recordOutputToken(tokenID)
        return SampledToken(tokenID: tokenID, logprobs: logprobs)
    }

    /// Records `tokenID` as generated without sampling it (e.g. a token forced by the caller).
    public mutating func recordOutputToken(_ tokenID: Int) {
        numGeneratedTokens += 1
        outputTokenCounts[tokenID, default: 0] += 1
        if params.repetitionPenalty != 1 { noteRepeated(tokenID) }
    }

    /// The filtered distribution a random step would draw from, given processed logits
    /// (for tests and diagnostics; nil when greedy).
    func filteredDistribution(processedLogits: UnsafeBufferPointer<Float>) -> FilteredDistribution? {
        guard !params.isGreedy else { return nil }
        return FilteredDistribution(
            logits: processedLogits, temperature: params.temperature,
            topK: params.topK, topP: params.topP, minP: params.minP)
    }

    private mutating func noteRepeated(_ tokenID: Int) {
        if repeatedTokenSet.insert(tokenID).inserted { repeatedTokenIDs.append(tokenID) }
    }
}

extension Sampler {
    /// Applies logit bias, min-tokens suppression and the penalties to `logits` in place,
    /// in vLLM's order. Touches only the ids named by the parameters and the history,
    /// never the whole vocabulary.
    public func processLogits(_ logits: UnsafeMutableBufferPointer<Float>) {
        for (id, bias) in params.logitBias where logits.indices.contains(id) {
            logits[id] += bias
        }
        if numGeneratedTokens < params.minTokens {
            for id in minTokensSuppressedIDs where logits.indices.contains(id) {
                logits[id] = -.infinity
            }
        }
        let penalty = params.repetitionPenalty
        if penalty != 1 {
            for id in repeatedTokenIDs where logits.indices.contains(id) {
                let logit = logits[id]
                logits[id] = logit > 0 ? logit / penalty : logit * penalty
            }
        }
        let frequency = params.frequencyPenalty
        let presence = params.presencePenalty
        if frequency != 0 || presence != 0 {
            for (id, count) in outputTokenCounts where logits.indices.contains(id) {
                logits[id] -= frequency * Float(count)
                logits[id] -= presence
            }
        }
    }
}
