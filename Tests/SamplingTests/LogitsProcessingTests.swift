import Testing

@testable import Sampling

@Suite("Logits processing")
struct LogitsProcessingTests {
    @Test("logit bias adds to the named tokens and can force a token under random sampling")
    func logitBias() {
        var sampler = Sampler(
            params: params {
                $0.logitBias = [7: 100, 2: -0.5, 99: 5]
                $0.seed = 1
            }, promptTokenIDs: [], eosTokenID: nil)
        let flat = [Float](repeating: 0, count: 10)
        let out = processed(flat, by: sampler)
        #expect(out[7] == 100 && out[2] == -0.5 && out[0] == 0)
        #expect(draws(200, flat, &sampler).allSatisfy { $0 == 7 })
    }

    @Test("repetition penalty divides positive and multiplies negative logits of prompt and output tokens")
    func repetitionPenalty() {
        var sampler = Sampler(
            params: params { $0.repetitionPenalty = 2 }, promptTokenIDs: [1, 2, 1], eosTokenID: nil)
        sampler.recordOutputToken(2)
        sampler.recordOutputToken(3)
        let out = processed([1, 2, -2, 4, 5], by: sampler)
        #expect(out == [1, 1, -4, 2, 5])
    }

    @Test("frequency penalty scales with the output count and presence penalty applies once")
    func presenceAndFrequency() {
        var sampler = Sampler(
            params: params {
                $0.frequencyPenalty = 0.5
                $0.presencePenalty = 1
            }, promptTokenIDs: [0, 4], eosTokenID: nil, outputTokenIDs: [3, 3, 1])
        #expect(sampler.outputTokenCounts == [3: 2, 1: 1])
        #expect(processed([1, 2, 3, 4, 5], by: sampler) == [1, 0.5, 3, 2, 5])
        sampler.recordOutputToken(3)
        #expect(processed([1, 2, 3, 4, 5], by: sampler) == [1, 0.5, 3, 1.5, 5])
    }

    @Test("penalties apply after the logit bias, in vLLM's order")
    func order() {
        let sampler = Sampler(
            params: params {
                $0.logitBias = [0: 2]
                $0.repetitionPenalty = 2
                $0.presencePenalty = 1
            }, promptTokenIDs: [], eosTokenID: nil, outputTokenIDs: [0])
        // (1 + 2) / 2 - 1: bias first, then repetition, then presence.
        #expect(processed([1, 0], by: sampler) == [0.5, 0])
    }

    @Test("min-tokens suppresses EOS and stop ids until enough tokens are generated")
    func minTokens() {
        var sampler = Sampler(
            params: params {
                $0.temperature = 0
                $0.minTokens = 2
                $0.stopTokenIDs = [1]
            }, promptTokenIDs: [], eosTokenID: 0)
        let preferStops: [Float] = [9, 8, 0, 1]
        let out = processed(preferStops, by: sampler)
        #expect(out[0] == -.infinity && out[1] == -.infinity && out[3] == 1)
        #expect(draws(3, preferStops, &sampler) == [3, 3, 0])
        #expect(sampler.numGeneratedTokens == 3)
    }

    @Test("min-tokens leaves EOS alone when the request ignores EOS")
    func minTokensIgnoreEOS() {
        let sampler = Sampler(
            params: params {
                $0.minTokens = 2
                $0.ignoreEOS = true
            }, promptTokenIDs: [], eosTokenID: 0)
        #expect(processed([9, 8], by: sampler) == [9, 8])
    }

    @Test("default parameters leave the logits unchanged")
    func identity() {
        let sampler = Sampler(params: SamplingParams(), promptTokenIDs: [1, 2], eosTokenID: 0, outputTokenIDs: [1])
        let values = randomLogits(count: 100, seed: 9)
        #expect(processed(values, by: sampler) == values)
    }
}
