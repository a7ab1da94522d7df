import Foundation
import Testing

@testable import Sampling

@Suite("Log-probabilities")
struct TokenLogprobsTests {
    @Test("log-probabilities over the whole vocabulary sum to one in probability")
    func normalised() {
        let values = randomLogits(count: 50, seed: 21, scale: 20)
        let logprobs = values.withUnsafeBufferPointer {
            TokenLogprobs(logits: $0, sampledTokenID: 3, numTop: 50)
        }
        let total = logprobs.top.reduce(0.0) { $0 + Foundation.exp(Double($1.logprob)) }
        #expect(abs(total - 1) < 1e-5)
        #expect(logprobs.top.count == 50)
        #expect(logprobs.top.first?.tokenID == values.indices.max { values[$0] < values[$1] })
        #expect(zip(logprobs.top, logprobs.top.dropFirst()).allSatisfy { $0.logprob >= $1.logprob })
        let sampledEntry = logprobs.top.first { $0.tokenID == 3 }
        #expect(sampledEntry?.logprob == logprobs.sampled.logprob)
        #expect(logprobs.top[logprobs.sampledRank - 1].tokenID == 3)
    }

    @Test("top-N returns the N best tokens with their log-softmax values")
    func topN() {
        let values: [Float] = [0, 2, 1, 2, -1]
        let logprobs = values.withUnsafeBufferPointer { TokenLogprobs(logits: $0, sampledTokenID: 4, numTop: 2) }
        let logNormalizer = Foundation.log(values.reduce(0.0) { $0 + Foundation.exp(Double($1)) })
        #expect(logprobs.top.map(\.tokenID) == [1, 3])
        #expect(abs(Double(logprobs.top[0].logprob) - (2 - logNormalizer)) < 1e-6)
        #expect(abs(Double(logprobs.sampled.logprob) - (-1 - logNormalizer)) < 1e-6)
        #expect(logprobs.sampledRank == 5)
    }

    @Test("the sampler reports log-probabilities after penalties and bias but before temperature and filters")
    func samplerLogprobs() throws {
        var sampler = Sampler(
            params: params {
                $0.temperature = 0.3
                $0.topK = 1
                $0.logitBias = [2: 1]
                $0.logprobs = 3
            }, promptTokenIDs: [], eosTokenID: nil)
        let values: [Float] = [0, 1, 1]
        let result = withLogits(values) { sampler.sample(logits: $0) }
        let logprobs = try #require(result.logprobs)
        // Biased logits [0, 1, 2]; softmax without temperature or top-k.
        let logNormalizer = Foundation.log(1 + Foundation.exp(1.0) + Foundation.exp(2.0))
        #expect(result.tokenID == 2)
        #expect(logprobs.top.map(\.tokenID) == [2, 1, 0])
        #expect(abs(Double(logprobs.sampled.logprob) - (2 - logNormalizer)) < 1e-6)
        #expect(abs(Double(logprobs.top[2].logprob) - (0 - logNormalizer)) < 1e-6)
    }

    @Test("no log-probabilities are computed unless the request asks for them")
    func absentByDefault() {
        var sampler = Sampler(params: SamplingParams(), promptTokenIDs: [], eosTokenID: nil)
        #expect(withLogits([0, 1]) { sampler.sample(logits: $0) }.logprobs == nil)
    }
}
