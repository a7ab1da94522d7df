import Foundation
import Testing

@testable import Sampling

@Suite("Sampling filters")
struct SamplingFilterTests {
    /// A hand-made distribution: token i has probability `probabilities[i]`.
    let probabilities = [0.5, 0.3, 0.15, 0.05]
    var values: [Float] { logits(ofProbabilities: probabilities) }

    @Test("greedy takes the argmax, the lowest id among ties, regardless of the seed")
    func greedy() {
        for seed: UInt64 in [1, 2, 3] {
            var sampler = Sampler(
                params: params {
                    $0.temperature = 0
                    $0.seed = seed
                }, promptTokenIDs: [], eosTokenID: nil)
            #expect(draws(3, [0.1, 2.5, -1, 2.5, 0], &sampler) == [1, 1, 1])
        }
        var topKOne = Sampler(params: params { $0.topK = 1 }, promptTokenIDs: [], eosTokenID: nil)
        #expect(draws(3, values, &topKOne) == [0, 0, 0])
    }

    @Test("without filters every token keeps its softmax probability")
    func unfiltered() {
        let kept = distribution(values, SamplingParams())
        #expect(kept.count == 4)
        for (id, p) in probabilities.enumerated() {
            #expect(abs((kept[id] ?? 0) - p) < 1e-6)
        }
    }

    @Test("top-k keeps exactly the k most likely tokens, renormalised")
    func topK() {
        let kept = distribution(values, params { $0.topK = 2 })
        #expect(Set(kept.keys) == [0, 1])
        #expect(abs((kept[0] ?? 0) - 0.5 / 0.8) < 1e-6)
        #expect(abs((kept[1] ?? 0) - 0.3 / 0.8) < 1e-6)

        let wide = randomLogits(count: 5000, seed: 11)
        let expected = Set(wide.indices.sorted { wide[$0] > wide[$1] }.prefix(37))
        #expect(Set(distribution(wide, params { $0.topK = 37 }).keys) == expected)
        #expect(Set(distribution(wide, params { $0.topK = 5000 }).keys).count == 5000)
    }

    @Test("top-p keeps the minimal best-first nucleus reaching p")
    func topP() {
        #expect(Set(distribution(values, params { $0.topP = 0.4 }).keys) == [0])
        #expect(Set(distribution(values, params { $0.topP = 0.75 }).keys) == [0, 1])
        #expect(Set(distribution(values, params { $0.topP = 0.85 }).keys) == [0, 1, 2])
        #expect(Set(distribution(values, params { $0.topP = 0.99 }).keys) == [0, 1, 2, 3])
        let kept = distribution(values, params { $0.topP = 0.75 })
        #expect(abs((kept[0] ?? 0) - 0.625) < 1e-6)
    }

    @Test("top-p is applied after top-k's renormalisation")
    func topKThenTopP() {
        // After top-k = 2 the probabilities are 0.625 and 0.375: p = 0.6 keeps only token 0.
        let kept = distribution(
            values,
            params {
                $0.topK = 2
                $0.topP = 0.6
            })
        #expect(Set(kept.keys) == [0])
    }

    @Test("min-p drops tokens below min-p times the top probability")
    func minP() {
        // Threshold 0.25 × 0.5 = 0.125 drops only token 3; 0.5 × 0.5 = 0.25 also drops token 2.
        #expect(Set(distribution(values, params { $0.minP = 0.25 }).keys) == [0, 1, 2])
        #expect(Set(distribution(values, params { $0.minP = 0.5 }).keys) == [0, 1])
        #expect(Set(distribution(values, params { $0.minP = 1 }).keys) == [0])
        let afterTopK = distribution(
            values,
            params {
                $0.topK = 3
                $0.minP = 0.5
            })
        #expect(Set(afterTopK.keys) == [0, 1])
        #expect(abs((afterTopK[0] ?? 0) - 0.625) < 1e-6)
    }

    @Test("temperature below 1 sharpens and above 1 flattens the empirical frequencies")
    func temperature() {
        let twoTokens: [Float] = [1, 0]
        func frequencyOfFirst(_ temperature: Float) -> Double {
            var sampler = Sampler(
                params: params {
                    $0.temperature = temperature
                    $0.seed = 2024
                }, promptTokenIDs: [], eosTokenID: nil)
            let tokens = draws(5_000, twoTokens, &sampler)
            return Double(tokens.filter { $0 == 0 }.count) / Double(tokens.count)
        }
        func expected(_ temperature: Double) -> Double { 1 / (1 + Foundation.exp(-1 / temperature)) }
        let sharp = frequencyOfFirst(0.5)
        let plain = frequencyOfFirst(1)
        let flat = frequencyOfFirst(2)
        #expect(abs(sharp - expected(0.5)) < 0.025)
        #expect(abs(plain - expected(1)) < 0.025)
        #expect(abs(flat - expected(2)) < 0.025)
        #expect(sharp > plain && plain > flat)
    }

    @Test("draws follow the filtered probabilities and never leave the kept set")
    func drawsStayInSupport() {
        var sampler = Sampler(
            params: params {
                $0.topP = 0.85
                $0.seed = 5
            }, promptTokenIDs: [], eosTokenID: nil)
        let tokens = draws(5_000, values, &sampler)
        #expect(Set(tokens).isSubset(of: [0, 1, 2]))
        let frequency = Double(tokens.filter { $0 == 2 }.count) / Double(tokens.count)
        #expect(abs(frequency - 0.15 / 0.95) < 0.02)
    }

    @Test("the binned top-p nucleus equals a full sort's nucleus over a large vocabulary")
    func nucleusMatchesFullSort() {
        for (seed, temperature, topP): (UInt64, Float, Float) in [
            (1, 1, 0.9), (2, 0.7, 0.5), (3, 1.5, 0.99), (4, 0.2, 0.3),
        ] {
            let wide = randomLogits(count: 20_000, seed: seed, scale: 10)
            let kept = distribution(
                wide,
                params {
                    $0.temperature = temperature
                    $0.topP = topP
                })
            #expect(kept == referenceNucleus(wide, temperature: temperature, topP: topP))
        }
    }

    /// Top-p by sorting the whole vocabulary, for comparison.
    func referenceNucleus(_ values: [Float], temperature: Float, topP: Float) -> Set<Int> {
        let maxLogit = values.max() ?? 0
        let weights = values.map { Double(Foundation.exp(($0 - maxLogit) * (1 / temperature))) }
        let total = weights.reduce(0, +)
        let order = values.indices.sorted { values[$0] > values[$1] || (values[$0] == values[$1] && $0 < $1) }
        var kept: Set<Int> = []
        var cumulative = 0.0
        for id in order where cumulative < Double(topP) * total {
            kept.insert(id)
            cumulative += weights[id]
        }
        return kept
    }
}

extension Dictionary where Key == Int, Value == Double {
    fileprivate static func == (lhs: Self, rhs: Set<Int>) -> Bool { Set(lhs.keys) == rhs }
}
