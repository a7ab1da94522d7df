import Testing

@testable import Tensors

/// Every path of the C linear kernel (decode, register-blocked dot products,
/// packed outer products) against `MatMul.linearReference`, on sizes that are
/// not multiples of the kernels' blocking so every tail runs.
@Suite("MatMul kernels") struct MatMulTests {
    static let singlePool = KernelPool(numThreads: 1)
    static let pool = KernelPool(numThreads: 2)

    static func values(_ n: Int, seed: Int) -> [Float] {
        (0..<n).map { i in Float(((i &* 2_654_435_761 &+ seed &* 97) % 2001) - 1000) / 1000 }
    }

    /// Runs `MatMul.linear` and returns the largest error relative to the reference's scale.
    static func maxError(m: Int, n: Int, k: Int, dtype: DType, bias: Bool, pool: KernelPool) -> Float {
        let w = WeightTensor.owning(values(n * k, seed: n &+ k), shape: [n, k], dtype: dtype)
        let x = values(m * k, seed: k &+ m)
        let b = bias ? values(n, seed: 11) : nil
        let expected = MatMul.linearReference(x: x, m: m, weight: w, bias: b)
        var out = [Float](repeating: .nan, count: m * n)
        x.withUnsafeBufferPointer { xp in
            out.withUnsafeMutableBufferPointer { op in
                if let b {
                    b.withUnsafeBufferPointer { bp in
                        MatMul.linear(
                            x: xp.baseAddress!, m: m, weight: w, bias: bp.baseAddress, out: op.baseAddress!, pool: pool)
                    }
                } else {
                    MatMul.linear(x: xp.baseAddress!, m: m, weight: w, out: op.baseAddress!, pool: pool)
                }
            }
        }
        var worst: Float = 0
        for i in 0..<m * n {
            let error = abs(out[i] - expected[i]) / max(1, abs(expected[i]))
            worst = max(worst, error.isNaN ? .infinity : error)
        }
        return worst
    }

    @Test(
        "decode and small-batch paths match the plain loop (m = 1, 2, 3, 5, 17; odd n and k; decode of long rows)",
        arguments: DType.floatingPointCases)
    func smallBatches(dtype: DType) {
        for m in [1, 2, 3, 5, 17] {
            // Decode takes short rows 2 at a time and rows of more than 4 KiB 8 at a time.
            let longRows = m == 1 ? [(21, 2_100)] : []
            for (n, k) in [(1, 1), (7, 9), (37, 33), (61, 100), (130, 257)] + longRows {
                let error = Self.maxError(m: m, n: n, k: k, dtype: dtype, bias: m % 2 == 1, pool: Self.singlePool)
                #expect(error <= 2e-5, "m=\(m) n=\(n) k=\(k) \(dtype): error \(error)")
            }
        }
    }

    @Test(
        "packed prefill path matches the plain loop across k-blocks, m-blocks and panel tails",
        arguments: DType.floatingPointCases)
    func packedPrefill(dtype: DType) {
        // m >= 64 packs W; k = 300 spans two 256-column blocks; m = 101 spans two 96-row blocks;
        // n = 83 leaves a partial 16-row panel and a partial 64-row group. k a multiple of 32
        // (bf16 on AMX): tiles of 16 x rows by 32 W rows, with both kinds of rows left over.
        for (m, n, k) in [(64, 16, 8), (67, 83, 31), (101, 83, 300), (70, 130, 257), (48, 96, 96), (35, 70, 64)] {
            let error = Self.maxError(m: m, n: n, k: k, dtype: dtype, bias: true, pool: Self.singlePool)
            #expect(error <= 2e-5, "m=\(m) n=\(n) k=\(k) \(dtype): error \(error)")
        }
    }

    @Test("splitting W rows into pool tasks gives the same result as one thread")
    func splitAcrossThreads() {
        for (m, n, k) in [(1, 3000, 40), (2, 3001, 40), (17, 1001, 24), (70, 1000, 40), (40, 1000, 96)] {
            #expect(MatMul.taskRows(m: m, n: n, k: k, numThreads: 2) < n, "m=\(m): expected several tasks")
            for dtype in DType.floatingPointCases {
                let error = Self.maxError(m: m, n: n, k: k, dtype: dtype, bias: true, pool: Self.pool)
                #expect(error <= 2e-5, "m=\(m) n=\(n) k=\(k) \(dtype): error \(error)")
            }
        }
    }

    @Test("task row counts follow the kernel's row blocking")
    func taskRowBlocking() {
        #expect(MatMul.taskRows(m: 512, n: 1536, k: 1536, numThreads: 2) % 64 == 0)
        #expect(MatMul.taskRows(m: 1, n: 6144, k: 1536, numThreads: 2) % 24 == 0)
        #expect(MatMul.taskRows(m: 4, n: 100, k: 10, numThreads: 1) == 100)
    }

    @Test("the Swift SIMD baseline still matches the plain loop")
    func swiftBaseline() {
        let (m, n, k) = (3, 21, 35)
        let w = WeightTensor.owning(Self.values(n * k, seed: 5), shape: [n, k], dtype: .bf16)
        let x = Self.values(m * k, seed: 6)
        let expected = MatMul.linearReference(x: x, m: m, weight: w)
        var out = [Float](repeating: .nan, count: m * n)
        x.withUnsafeBufferPointer { xp in
            out.withUnsafeMutableBufferPointer { op in
                MatMul.linearSwiftSIMD(x: xp.baseAddress!, m: m, weight: w, out: op.baseAddress!, pool: Self.pool)
            }
        }
        for i in 0..<m * n { #expect(abs(out[i] - expected[i]) <= 1e-4 * max(1, abs(expected[i]))) }
    }
}
