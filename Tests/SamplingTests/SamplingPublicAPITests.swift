import Sampling
import Testing

/// Uses only the public API (no `@testable`), as a device worker will.
@Test("the public API samples a token with log-probabilities from a logits row")
func samplingPublicAPI() {
    var params = SamplingParams()
    params.seed = 42
    params.topK = 2
    params.logprobs = 1
    var sampler = Sampler(params: params, promptTokenIDs: [5, 6], eosTokenID: 0)
    var row: [Float] = [0, 3, 2, -1]
    let result = row.withUnsafeMutableBufferPointer { sampler.sample(logits: $0) }
    #expect([1, 2].contains(result.tokenID))
    #expect(result.logprobs?.top.map(\.tokenID) == [1])
    #expect(sampler.numGeneratedTokens == 1 && sampler.outputTokenCounts[result.tokenID] == 1)
    var rng = SamplerRNG(seed: 42)
    #expect(rng.nextUnitInterval() < 1)
}
