import Foundation
import Testing

@testable import Sampling

@Suite("Ranking and vector kernels")
struct KernelTests {
    @Test("vector exp matches the C library to 2e-7 relative and is exactly 1 at 0")
    func expAccuracy() {
        var worst = 0.0
        for i in 0..<20_000 {
            let x = Float(i) * -0.0043 + 3
            let reference = Foundation.exp(Double(x))
            worst = max(worst, abs(Double(VectorMath.exp(x)) - reference) / reference)
        }
        #expect(worst < 2e-7)
        #expect(VectorMath.exp(0) == 1)
        #expect(VectorMath.exp(-.infinity) == 0)
        #expect(VectorMath.exp(.nan) == 0)
        #expect(VectorMath.exp(-100) == 0)
    }

    @Test("vector max, sum and weights agree with scalar loops on rows of odd length")
    func vectorRows() {
        let row = randomLogits(count: 1003, seed: 17)
        row.withUnsafeBufferPointer { buffer in
            #expect(VectorMath.maxKey(buffer) == row.max())
            #expect(abs(VectorMath.sum(buffer) - row.reduce(0.0) { $0 + Double($1) }) < 1e-9 * 1003 * 8)
            var weights = [Float](repeating: 0, count: row.count)
            weights.withUnsafeMutableBufferPointer {
                VectorMath.fillWeights(buffer, maxLogit: 8, invTemperature: 0.5, into: $0)
            }
            #expect(weights == row.map { VectorMath.exp(($0 - 8) * 0.5) })
        }
    }

    @Test("top-k selection equals the prefix of a full sort, ties broken by lower id")
    func topSelection() {
        // Coarse values force many ties.
        let row = randomLogits(count: 2000, seed: 23).map { ($0 * 2).rounded() / 2 }
        let sorted = row.indices.sorted { row[$0] > row[$1] || (row[$0] == row[$1] && $0 < $1) }
        row.withUnsafeBufferPointer { buffer in
            for k in [1, 7, 64, 1999, 2000, 5000] {
                #expect(TokenRanking.top(k, of: buffer).map(Int.init) == Array(sorted.prefix(k)))
            }
            #expect(TokenRanking.argmax(buffer) == sorted[0])
            #expect(TokenRanking.rank(of: sorted[40], in: buffer) == 41)
            #expect(TokenRanking.rank(of: sorted[1999], in: buffer) == 2000)
        }
        let masked: [Float] = [-.infinity, 1, .nan, -.infinity]
        masked.withUnsafeBufferPointer { buffer in
            #expect(TokenRanking.rank(of: 3, in: buffer) == 4)
            #expect(TokenRanking.rank(of: 0, in: buffer) == 2)
            #expect(TokenRanking.top(4, of: buffer) == [1, 0, 2, 3])
        }
    }

    @Test("NaN and -infinity logits are never drawn, and an all -infinity row still yields a token")
    func degenerateLogits() {
        var sampler = Sampler(params: params { $0.seed = 8 }, promptTokenIDs: [], eosTokenID: nil)
        let row: [Float] = [.nan, 0, -.infinity, 0.5, .nan]
        #expect(Set(draws(300, row, &sampler)) == [1, 3])
        var nucleus = Sampler(
            params: params {
                $0.topP = 0.9; $0.seed = 8
            }, promptTokenIDs: [], eosTokenID: nil)
        #expect(Set(draws(300, row, &nucleus)).isSubset(of: [1, 3]))
        let masked = [Float](repeating: -.infinity, count: 4)
        #expect(draws(2, masked, &sampler).allSatisfy { (0..<4).contains($0) })
    }
}
