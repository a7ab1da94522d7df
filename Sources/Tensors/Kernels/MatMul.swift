import CKernels

/// Matrix products of activations with checkpoint weights: every linear
/// layer of a model goes through `linear`.
///
/// The arithmetic is in `CKernels` (AVX2 + FMA, chosen at run time; portable
/// C otherwise); this type splits the output rows of W into tasks for the
/// kernel pool. Accumulation is f32 for every weight dtype. Activations stay
/// f32, except against Q8_0 / Q4_0 and the repacked Q8_0x8 / Q4_0x8 / Q4_Kx8 / Q6_Kx8
/// weights (at every batch size) and Q4_K / Q6_K weights (below `packedRowsThreshold` rows): there x is
/// quantized once per call to 8-bit blocks and each block's dot product runs in
/// integer arithmetic (as llama.cpp does). In prefill, Q4_K / Q6_K weights are
/// widened to f32 in registers like the float types.
public enum MatMul {
    /// Rows of x at or above which the C kernel packs f32 / f16 / bf16 W into
    /// panels of 64 rows (the prefill path); tasks then cover whole panel groups.
    public static let packedRowsThreshold = 64

    /// x [m, k] · W [n, k]ᵀ (+ bias [n]) → out [m, n], f32 accumulation, W in any `DType`.
    /// Parallel over ranges of W rows, so each W byte is read by one thread once.
    public static func linear(
        x: UnsafePointer<Float>, m: Int, weight: WeightTensor, bias: UnsafePointer<Float>? = nil,
        out: UnsafeMutablePointer<Float>, pool: KernelPool
    ) {
        if let dtype = pool.matmulRounding, !pool.isInsideMatMulRounding {
            return linearRoundingToDevice(x: x, m: m, weight: weight, bias: bias, out: out, pool: pool, dtype: dtype)
        }
        let n = weight.rows
        let k = weight.cols
        if m <= 0 || n <= 0 { return }
        precondition(k % weight.dtype.blockSize == 0, "\(weight.dtype) rows hold whole blocks")
        let rowsPerTask = taskRows(m: m, n: n, k: k, numThreads: pool.numThreads)
        assert(!weight.dtype.isInterleaved || rowsPerTask % 8 == 0, "tasks must cover whole groups of 8 rows")
        let numTasks = (n + rowsPerTask - 1) / rowsPerTask
        let code = dtypeCode(weight.dtype)
        let w = weight.data
        if weight.dtype.hasInt8Kernels || (weight.dtype.isKQuant && m < packedRowsThreshold) {
            // Integer dot products: x quantized to 8-bit blocks once, shared by every task. (Prefill
            // on Q4_K / Q6_K as stored in the file dequantizes into the f32 panels; at load they are
            // repacked as Q4_Kx8 / Q6_Kx8, which are integer at every size.)
            let byteCount = pg_quantized_activation_bytes(Int64(m), Int64(k))
            withUnsafeTemporaryAllocation(byteCount: byteCount, alignment: 64) { buffer in
                guard let qx = buffer.baseAddress else { return }
                if weight.dtype.isKQuant {
                    pg_quantize_activations_k(x, Int64(m), Int64(k), qx)  // llama.cpp's Q8_K rounding
                    if weight.dtype == .q6_Kx8 { pg_offset_activations(qx, Int64(m), Int64(k)) }  // x + 128
                } else {
                    pg_quantize_activations(x, Int64(m), Int64(k), qx)
                }
                let quantized = UnsafeRawPointer(qx)
                pool.parallelFor(numTasks) { task in
                    let r0 = task * rowsPerTask
                    let r1 = min(n, r0 + rowsPerTask)
                    pg_linear_rows_quantized(
                        quantized, Int64(m), Int64(k), w, code, Int64(r0), Int64(r1), bias, out, Int64(n))
                }
            }
            return
        }
        pool.parallelFor(numTasks) { task in
            let r0 = task * rowsPerTask
            let r1 = min(n, r0 + rowsPerTask)
            pg_linear_rows(x, Int64(m), Int64(k), w, code, Int64(r0), Int64(r1), bias, out, Int64(n))
        }
    }

    /// W rows per pool task: enough tasks (8 per thread) to balance a shared
    /// machine, each a multiple of the kernel's row blocking (and of the 8-row
    /// groups of the interleaved types) and not so small
    /// that dispatch dominates.
    @usableFromInline static func taskRows(m: Int, n: Int, k: Int, numThreads: Int) -> Int {
        if numThreads <= 1 { return n }
        let granule = m >= packedRowsThreshold ? 64 : 24
        let minRows = max(granule, (1 << 16) / max(k * m, 1))  // at least ~64K multiply-adds per task
        let target = (n + numThreads * 8 - 1) / (numThreads * 8)
        let rows = max(target, minRows)
        return (rows + granule - 1) / granule * granule
    }

    @inlinable static func dtypeCode(_ dtype: DType) -> Int32 {
        switch dtype {
        case .f32: Int32(PG_DTYPE_F32)
        case .f16: Int32(PG_DTYPE_F16)
        case .bf16: Int32(PG_DTYPE_BF16)
        case .q8_0: Int32(PG_DTYPE_Q8_0)
        case .q4_0: Int32(PG_DTYPE_Q4_0)
        case .q8_0x8: Int32(PG_DTYPE_Q8_0X8)
        case .q4_0x8: Int32(PG_DTYPE_Q4_0X8)
        case .q4_Kx8: Int32(PG_DTYPE_Q4_KX8)
        case .q6_Kx8: Int32(PG_DTYPE_Q6_KX8)
        case .q4_K: Int32(PG_DTYPE_Q4_K)
        case .q6_K: Int32(PG_DTYPE_Q6_K)
        }
    }

    /// The pure-Swift kernel this module used before `CKernels` (each W row
    /// widened to f32 into scratch, then `SIMD16` dot products). Kept as the
    /// baseline that `ModelBench --kernels` compares against.
    public static func linearSwiftSIMD(
        x: UnsafePointer<Float>, m: Int, weight: WeightTensor, bias: UnsafePointer<Float>? = nil,
        out: UnsafeMutablePointer<Float>, pool: KernelPool
    ) {
        let n = weight.rows
        let k = weight.cols
        let rowsPerTile = 16
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
