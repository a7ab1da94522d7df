import CKernels
import Foundation
import Testing

@testable import Tensors

/// Fast kernels against plain loops, on odd sizes and tails.
@Suite("Kernels") struct KernelTests {
    static let pool = KernelPool(numThreads: 3)

    static func values(_ n: Int, seed: Int) -> [Float] {
        (0..<n).map { i in Float(((i &* 2_654_435_761 &+ seed &* 97) % 2001) - 1000) / 1000 }
    }

    @Test(
        "the emulated test build runs the AVX-512 kernels, and the AMX ones with PANGU_KERNEL_ISA=amx",
        .enabled(if: ProcessInfo.processInfo.environment["PANGU_EMULATE_ISA"] == "1"))
    func emulatedISAIsInEffect() {
        #expect(pg_isa_emulated() == 1)
        #expect(pg_has_avx512() == 1 && pg_has_avx512_vnni() == 1 && pg_has_avx512_bf16() == 1)
        let amx = ProcessInfo.processInfo.environment["PANGU_KERNEL_ISA"] == "amx"
        #expect(pg_has_amx() == (amx ? 1 : 0))
        #expect(MatMul.kernelISA == (amx ? "AVX-512 VNNI, BF16, AMX" : "AVX-512 VNNI, BF16"))
    }

    @Test("linear equals the plain loop for every dtype, odd sizes and bias", arguments: DType.floatingPointCases)
    func linearMatchesReference(dtype: DType) {
        for (m, n, k) in [(1, 1, 1), (1, 37, 33), (3, 50, 64), (5, 17, 129), (2, 70, 15)] {
            let w = WeightTensor.owning(Self.values(n * k, seed: n), shape: [n, k], dtype: dtype)
            let x = Self.values(m * k, seed: k)
            let bias = Self.values(n, seed: 7)
            let expected = MatMul.linearReference(x: x, m: m, weight: w, bias: bias)
            var out = [Float](repeating: .nan, count: m * n)
            x.withUnsafeBufferPointer { xp in
                bias.withUnsafeBufferPointer { bp in
                    out.withUnsafeMutableBufferPointer { op in
                        MatMul.linear(
                            x: xp.baseAddress!, m: m, weight: w, bias: bp.baseAddress, out: op.baseAddress!,
                            pool: Self.pool)
                    }
                }
            }
            for i in 0..<m * n { #expect(abs(out[i] - expected[i]) <= 1e-4 * max(1, abs(expected[i]))) }
        }
    }

    @Test("bf16 and f16 conversions round to nearest even and widen exactly")
    func conversions() {
        #expect(Precision.floatToBF16(1.0) == 0x3F80)
        #expect(Precision.bf16ToFloat(0x3F80) == 1.0)
        // 1 + 2^-8 is halfway between bf16 neighbours 1 and 1 + 2^-7: ties to even (1).
        #expect(Precision.floatToBF16(1 + 1.0 / 256) == 0x3F80)
        #expect(Precision.floatToBF16(1 + 3.0 / 256) == 0x3F82)
        #expect(Precision.f16ToFloat(Precision.floatToF16(0.5)) == 0.5)
        for dtype in DType.floatingPointCases {
            let v = Self.values(45, seed: 3).map { Precision.round($0, to: dtype) }
            let t = WeightTensor.owning(v, shape: [45], dtype: dtype)
            var out = [Float](repeating: 0, count: 45)
            out.withUnsafeMutableBufferPointer { Convert.widen(t.data, dtype: dtype, count: 45, into: $0.baseAddress!) }
            #expect(out == v)
        }
    }

    @Test("rmsNorm, softmax and SwiGLU match their formulas")
    func elementwise() {
        var x: [Float] = [1, -2, 3, 0.5]
        let w: [Float] = [1, 2, 0.5, 1]
        var out = [Float](repeating: 0, count: 4)
        Elementwise.rmsNorm(x, weight: w, eps: 1e-5, out: &out, count: 4)
        let rms = ((1 + 4 + 9 + 0.25) / 4 + 1e-5 as Float).squareRoot()
        for i in 0..<4 { #expect(abs(out[i] - x[i] / rms * w[i]) < 1e-6) }
        Elementwise.softmax(&x, count: 4)
        #expect(abs(x.reduce(0, +) - 1) < 1e-6)
        #expect(x[2] > x[0] && x[0] > x[3] && x[3] > x[1])
        var gate: [Float] = [0, 1, -1]
        Elementwise.siluMul(gate: &gate, up: [2, 2, 2], count: 3)
        #expect(gate[0] == 0)
        #expect(abs(gate[1] - 2 / (1 + exp(-1))) < 1e-6)
    }

    @Test("rotary embedding at position 0 is the identity and preserves norms elsewhere")
    func rotary() {
        let rope = Rotary(headDim: 8, theta: 10000)
        var v: [Float] = [1, 2, 3, 4, 5, 6, 7, 8]
        let original = v
        rope.apply(&v, numHeads: 1, position: 0)
        #expect(v == original)
        rope.apply(&v, numHeads: 1, position: 5)
        let norm = { (a: [Float]) in a.reduce(0) { $0 + $1 * $1 } }
        #expect(abs(norm(v) - norm(original)) < 1e-3)
        // Pair 0 rotates by angle 5 · theta^0 = 5 rad.
        #expect(abs(v[0] - (1 * cos(5) - 5 * sin(5))) < 1e-5)
    }

    @Test(
        "the kernel pool runs every task exactly once, repeatedly, whether or not its 3 threads' shares are equal",
        arguments: [2, 3, 7, 1000])
    func poolRunsEveryTask(count: Int) {
        let counts = FloatBuffer(count: count)
        let base = counts.pointer
        for _ in 0..<50 {
            Self.pool.parallelFor(count) { i in base[i] += 1 }
        }
        #expect(counts.array.allSatisfy { $0 == 50 })
    }
}
