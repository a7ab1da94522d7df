import Testing

@testable import Tensors

/// Q4_0 repacked in groups of 8 rows (`DType.q4_0x8`): the repacking keeps every
/// weight, and the kernel on it equals the plain loop and the row-by-row Q4_0 kernel.
@Suite("Q4_0x8 layout") struct Q4_0x8Tests {
    static let pool = KernelPool(numThreads: 2)

    @Test("repacking keeps every weight, element by element and row by row")
    func repackKeepsWeights() {
        for (n, k) in [(8, 32), (16, 96), (24, 1536)] {
            let q4 = WeightTensor.owning(QuantizeTests.values(n * k, seed: n + k), shape: [n, k], dtype: .q4_0)
            let x8 = q4.interleaved()
            #expect(x8.dtype == .q4_0x8 && x8.byteCount == q4.byteCount && x8.shape == q4.shape)
            #expect(x8.toFloats() == q4.toFloats(), "n=\(n) k=\(k)")
            var row = [Float](repeating: .nan, count: k)
            for r in [0, 5, n - 1] {
                row.withUnsafeMutableBufferPointer { x8.copyRow(r, to: $0.baseAddress!) }
                #expect(row == Array(q4.toFloats()[r * k..<(r + 1) * k]), "row \(r)")
            }
        }
    }

    @Test("only Q4_0 matrices with a multiple of 8 rows are repacked")
    func repackNeedsGroupsOfEight() {
        let odd = WeightTensor.owning(QuantizeTests.values(12 * 32, seed: 3), shape: [12, 32], dtype: .q4_0)
        #expect(odd.interleaved().dtype == .q4_0 && odd.interleaved().data == odd.data)
        let q8 = WeightTensor.owning(QuantizeTests.values(16 * 32, seed: 3), shape: [16, 32], dtype: .q8_0)
        #expect(q8.interleaved().data == q8.data)
        let direct = WeightTensor.owning(QuantizeTests.values(16 * 64, seed: 4), shape: [16, 64], dtype: .q4_0x8)
        #expect(direct.dtype == .q4_0x8 && direct.toFloats() == direct.quantized(to: .q4_0).toFloats())
    }

    @Test(
        "linear on Q4_0x8 equals the plain loop over quantized activations and the Q4_0 kernel (tiles of 4, tails, chunks)"
    )
    func linearMatchesReference() {
        for (m, n, k) in [
            (1, 8, 32), (1, 64, 96), (2, 24, 64), (3, 40, 288), (4, 16, 32), (5, 48, 64), (7, 8, 1536),
            (13, 152, 64), (67, 88, 288), (101, 24, 320), (5, 72, 8192),
        ] {
            let q4 = WeightTensor.owning(QuantizeTests.values(n * k, seed: n), shape: [n, k], dtype: .q4_0)
            let x8 = q4.interleaved()
            let x = QuantizeTests.values(m * k, seed: k &+ m)
            let bias = QuantizeTests.values(n, seed: 5)
            let expected = QuantizedActivations.reference(x: x, m: m, weight: q4, bias: bias)
            let fast = Self.linear(x: x, m: m, weight: x8, bias: bias)
            let rowByRow = Self.linear(x: x, m: m, weight: q4, bias: bias)
            var worst: Float = 0
            var worstAgainstQ4: Float = 0
            for i in 0..<m * n {
                worst = max(worst, abs(fast[i] - expected[i]) / max(1, abs(expected[i])))
                worstAgainstQ4 = max(worstAgainstQ4, abs(fast[i] - rowByRow[i]) / max(1, abs(rowByRow[i])))
            }
            #expect(worst <= 2e-5, "m=\(m) n=\(n) k=\(k): error \(worst)")
            #expect(worstAgainstQ4 <= 2e-5, "m=\(m) n=\(n) k=\(k): against Q4_0 \(worstAgainstQ4)")
        }
    }

    static func linear(x: [Float], m: Int, weight: WeightTensor, bias: [Float]) -> [Float] {
        var out = [Float](repeating: .nan, count: m * weight.rows)
        x.withUnsafeBufferPointer { xp in
            bias.withUnsafeBufferPointer { bp in
                out.withUnsafeMutableBufferPointer { op in
                    MatMul.linear(
                        x: xp.baseAddress!, m: m, weight: weight, bias: bp.baseAddress, out: op.baseAddress!,
                        pool: pool)
                }
            }
        }
        return out
    }
}
