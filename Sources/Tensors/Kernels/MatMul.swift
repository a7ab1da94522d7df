/// Matrix products of activations with checkpoint weights: every linear
/// layer of a model goes through `linear`.
public enum MatMul {
    /// Output rows of W handled per task, so a widened W tile stays in L1/L2.
    @usableFromInline static let rowsPerTile = 16

    /// x [m, k] · W [n, k]ᵀ (+ bias [n]) → out [m, n], f32 accumulation, W in any `DType`.
    /// Parallel over tiles of W rows; each W row is widened once and used for all m rows of x.
    public static func linear(
        x: UnsafePointer<Float>, m: Int, weight: WeightTensor, bias: UnsafePointer<Float>? = nil,
        out: UnsafeMutablePointer<Float>, pool: KernelPool
    ) {
        if let dtype = pool.matmulRounding, !pool.isInsideMatMulRounding {
            return linearRoundingToDevice(x: x, m: m, weight: weight, bias: bias, out: out, pool: pool, dtype: dtype)
        }
        let n = weight.rows
        let k = weight.cols
        let tiles = (n + rowsPerTile - 1) / rowsPerTile
        pool.parallelFor(tiles) { tile in
            let r0 = tile * rowsPerTile
            let r1 = min(n, r0 + rowsPerTile)
            withUnsafeTemporaryAllocation(of: Float.self, capacity: k * rowsPerTile) { scratch in
                guard let w = scratch.baseAddress else { return }
                for r in r0..<r1 { weight.copyRow(r, to: w + (r - r0) * k) }
                for i in 0..<m {
                    let xi = x + i * k
                    let oi = out + i * n
                    for r in r0..<r1 {
                        oi[r] = Vector.dot(xi, w + (r - r0) * k, k) + (bias?[r] ?? 0)
                    }
                }
            }
        }
    }

    /// Plain-loop reference of `linear` (tests compare the fast kernel with it).
    public static func linearReference(
        x: [Float], m: Int, weight: WeightTensor, bias: [Float]? = nil
    ) -> [Float] {
        let n = weight.rows
        let k = weight.cols
        var out = [Float](repeating: 0, count: m * n)
        for i in 0..<m {
            for r in 0..<n {
                var s: Float = 0
                for j in 0..<k { s += x[i * k + j] * weight.element(r * k + j) }
                out[i * n + r] = s + (bias?[r] ?? 0)
            }
        }
        return out
    }
}
