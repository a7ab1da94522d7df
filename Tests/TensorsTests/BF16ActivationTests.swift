import CKernels
import Testing

@testable import Tensors

/// `KernelPool.bf16Activations`: bf16 weights against x rounded to bf16 (`vdpbf16ps` on AVX-512
/// BF16, the f32 kernels on rounded x elsewhere) match the plain loop over the rounded x.
@Suite("bf16 activations") struct BF16ActivationTests {
    static func pool(threads: Int) -> KernelPool {
        let pool = KernelPool(numThreads: threads)
        pool.bf16Activations = true
        return pool
    }
    static let singlePool = pool(threads: 1)
    static let pool = pool(threads: 2)

    /// Values with more than bf16's 8 significant bits, so rounding x changes them.
    static func values(_ n: Int, seed: Int) -> [Float] {
        (0..<n).map { i in Float(((i &* 2_654_435_761 &+ seed &* 97) % 200_001) - 100_000) / 100_000 }
    }

    /// `MatMul.linear` on `pool`, and the plain loop over x rounded to bf16 (`roundX`) or not.
    static func run(m: Int, n: Int, k: Int, dtype: DType, pool: KernelPool, roundX: Bool = true)
        -> (out: [Float], expected: [Float])
    {
        let w = WeightTensor.owning(values(n * k, seed: n &+ k), shape: [n, k], dtype: dtype)
        let x = values(m * k, seed: k &+ m)
        let b = values(n, seed: 11)
        let rounded = roundX ? x.map { Precision.round($0, to: .bf16) } : x
        let expected = MatMul.linearReference(x: rounded, m: m, weight: w, bias: b)
        var out = [Float](repeating: .nan, count: m * n)
        out.withUnsafeMutableBufferPointer { op in
            MatMul.linear(x: x, m: m, weight: w, bias: b, out: op.baseAddress!, pool: pool)
        }
        return (out, expected)
    }

    static func maxError(_ result: (out: [Float], expected: [Float])) -> Float {
        zip(result.out, result.expected).reduce(0) { worst, pair in
            let error = abs(pair.0 - pair.1) / max(1, abs(pair.1))
            return max(worst, error.isNaN ? .infinity : error)
        }
    }

    @Test("every batch size, W row tail, K tail and K chunk matches the plain loop over rounded x")
    func matchesRoundedReference() {
        // m < 16 takes rows, m >= 16 tiles of 16 (pairs of tiles, a lone last tile, rows past m);
        // m = 130 spans two panels of 8 tiles; k = 1_602 spans two chunks of 768 words; n = 7, 13
        // and 37 leave W rows past the 8- and 4-row steps; k = 18 and 258 leave partial 16-word steps.
        for m in [1, 2, 3, 5, 15, 16, 17, 31, 33, 70, 130] {
            for (n, k) in [(1, 2), (7, 18), (13, 64), (37, 258)] + (m == 1 || m == 33 ? [(21, 1_602)] : []) {
                let error = Self.maxError(Self.run(m: m, n: n, k: k, dtype: .bf16, pool: Self.singlePool))
                #expect(error <= 2e-5, "m=\(m) n=\(n) k=\(k): error \(error)")
            }
        }
    }

    @Test("pool tasks split W rows at any multiple of their granule; odd k falls back to the f32 kernels")
    func tasksAndFallback() {
        for (m, n, k) in [(1, 3000, 40), (4, 3001, 40), (40, 1000, 96), (70, 1000, 40), (19, 45, 9), (80, 30, 33)] {
            let error = Self.maxError(Self.run(m: m, n: n, k: k, dtype: .bf16, pool: Self.pool))
            #expect(error <= 2e-5, "m=\(m) n=\(n) k=\(k): error \(error)")
        }
        #expect(pg_bf16x_bytes(16, 9) == 0, "odd k has no bf16 pairs")
    }

    @Test("x really is rounded for bf16 weights, and only for them")
    func roundsOnlyBF16Weights() {
        for m in [1, 40] {
            let unrounded = Self.run(m: m, n: 24, k: 64, dtype: .bf16, pool: Self.pool, roundX: false)
            #expect(Self.maxError(unrounded) > 1e-5, "m=\(m): bf16 W should see rounded x")
            for dtype in [DType.f32, .f16] {
                let error = Self.maxError(Self.run(m: m, n: 24, k: 64, dtype: dtype, pool: Self.pool, roundX: false))
                #expect(error <= 2e-5, "m=\(m) \(dtype): x should stay f32, error \(error)")
            }
        }
    }
}
