import CKernels

/// Matrix products of activations with checkpoint weights: every linear
/// layer of a model goes through `linear`.
///
/// The arithmetic is in `CKernels` (AVX2 + FMA, or AVX-512 where present, chosen at run time; portable
/// C otherwise); this type splits the output rows of W into tasks for the
/// kernel pool. Accumulation is f32 for every weight dtype. Activations stay
/// f32, except against Q8_0 / Q4_0 and the repacked Q8_0x16 / Q4_0x16 / Q4_Kx8 / Q6_Kx8
/// weights (at every batch size) and Q4_K / Q6_K weights (below `packedRowsThreshold` rows): there x is
/// quantized once per call to 8-bit blocks and each block's dot product runs in
/// integer arithmetic (as llama.cpp does). In prefill, Q4_K / Q6_K weights are
/// widened to f32 in registers like the float types. With `KernelPool.bf16Activations`
/// (the daemon's default), x is rounded to bf16 against bf16 weights (`vdpbf16ps`, as llama.cpp does).
public enum MatMul {
    /// The instructions the kernels run on this CPU, for the start-up banner: "AVX-512 VNNI, BF16, AMX",
    /// "AVX-512 VNNI, BF16", "AVX-512 VNNI", "AVX-512", "AVX2" or "portable C" (`PANGU_KERNEL_ISA` included).
    public static var kernelISA: String {
        if pg_has_avx512_vnni() != 0 {
            return "AVX-512 VNNI" + (pg_has_avx512_bf16() != 0 ? ", BF16" : "") + (pg_has_amx() != 0 ? ", AMX" : "")
        }
        if pg_has_avx512() != 0 { return "AVX-512" }
        return pg_has_avx2_fma() != 0 ? "AVX2" : "portable C"
    }

    /// Rows of x at or above which the C kernel packs f32 / f16 / bf16 W into
    /// panels of 64 rows (the prefill path); tasks then cover whole panel groups.
    public static let packedRowsThreshold = 64

    /// x [m, k] · W [n, k]ᵀ (+ bias [n]) → out [m, n], f32 accumulation, W in any `DType`.
    /// Parallel over ranges of W rows, so each W byte is read by one thread once.
    public static func linear(
        x: UnsafePointer<Float>, m: Int, weight: WeightTensor, bias: UnsafePointer<Float>? = nil,
        out: UnsafeMutablePointer<Float>, pool: KernelPool
    ) {
        linear(x: x, m: m, products: [Product(weight: weight, bias: bias, out: out)], pool: pool)
    }

    /// One product of a group that shares its input: out [m, n] = x · weightᵀ (+ bias [n]).
    public struct Product {
        public let weight: WeightTensor
        public let bias: UnsafePointer<Float>?
        public let out: UnsafeMutablePointer<Float>

        public init(weight: WeightTensor, bias: UnsafePointer<Float>? = nil, out: UnsafeMutablePointer<Float>) {
            self.weight = weight
            self.bias = bias
            self.out = out
        }
    }

    /// Several products of the same x (a layer's q, k and v; gate and up) as one
    /// pool job: x is quantized once per activation format the weights need, and
    /// the threads go from one weight to the next without waiting for each other.
    public static func linear(x: UnsafePointer<Float>, m: Int, products: [Product], pool: KernelPool) {
        if let dtype = pool.matmulRounding, !pool.isInsideMatMulRounding {
            for p in products {
                linearRoundingToDevice(
                    x: x, m: m, weight: p.weight, bias: p.bias, out: p.out, pool: pool, dtype: dtype)
            }
            return
        }
        if m <= 0 { return }
        var rowsPerTask: [Int] = []  // per product, and the index of its first task (then the count)
        var firstTask = [0]
        var formats: [Activations] = []
        var slots: [Int?] = []  // per product: its quantized x in `formats`, or nil for f32 x
        for (index, p) in products.enumerated() {
            let (n, k) = (p.weight.rows, p.weight.cols)
            precondition(k == products[0].weight.cols, "products of one x share its width")
            precondition(k % p.weight.dtype.blockSize == 0, "\(p.weight.dtype) rows hold whole blocks")
            let format = Activations(weight: p.weight.dtype, m: m, k: k, bf16: pool.bf16Activations)
            if format != .f32 && !formats.contains(format) { formats.append(format) }
            slots.append(format == .f32 ? nil : formats.firstIndex(of: format))
            let rows = taskRows(m: m, n: n, k: k, numThreads: pool.numThreads)
            assert(rows % p.weight.dtype.groupRows == 0, "tasks must cover whole groups of rows")
            rowsPerTask.append(rows)
            firstTask.append(firstTask[index] + (n + rows - 1) / rows)
        }
        let k = products.first?.weight.cols ?? 0
        // x quantized to 8-bit blocks (integer dot products), or packed for AMX, once per format,
        // shared by every task.
        var offsets = [0]
        for format in formats { offsets.append(offsets.last! + (format.bytes(m: m, k: k) + 63) / 64 * 64) }
        withUnsafeTemporaryAllocation(byteCount: max(1, offsets.last!), alignment: 64) { buffer in
            guard let base = buffer.baseAddress else { return }
            for (index, format) in formats.enumerated() {
                format.quantize(x, m: m, k: k, into: base + offsets[index], pool: pool)
            }
            let quantized = UnsafeRawPointer(base)
            // What each task reads of its product, as plain values: a `Product` copied per task
            // retained and released its weight's shape and owner (1.9 % of single-stream decode's samples).
            let plans = products.enumerated().map { index, p in
                TaskPlan(
                    weight: p.weight.data, code: dtypeCode(p.weight.dtype), n: Int64(p.weight.rows), bias: p.bias,
                    out: p.out, format: slots[index].map { formats[$0] } ?? .f32,
                    x: slots[index].map { quantized + offsets[$0] }, rowsPerTask: rowsPerTask[index],
                    firstTask: firstTask[index])
            }
            // Task t covers rows [r0, r0 + rowsPerTask) of the product whose tasks hold it, with no
            // array of 16-48 ranges built per call (3 products of 768 x 1536 at m = 1, in cache:
            // 16.6-18.0 -> 16.1-17.0 µs a call).
            pool.parallelFor(firstTask.last!) { t in
                var index = 0
                while index + 1 < plans.count && t >= plans[index + 1].firstTask { index += 1 }
                let p = plans[index]
                let r0 = Int64((t - p.firstTask) * p.rowsPerTask)
                let (r1, m, k) = (min(p.n, r0 + Int64(p.rowsPerTask)), Int64(m), Int64(k))
                switch (p.format, p.x) {
                case (.bf16Parts, let parts?):
                    pg_linear_rows_bf16_parts(parts, x, m, k, p.weight, r0, r1, p.bias, p.out, p.n)
                case (.bf16, let xb?):
                    pg_linear_rows_bf16x(xb, m, k, p.weight, r0, r1, p.bias, p.out, p.n)
                case (.bf16Rounded, let rounded?):
                    let xr = rounded.assumingMemoryBound(to: Float.self)
                    pg_linear_rows(xr, m, k, p.weight, p.code, r0, r1, p.bias, p.out, p.n)
                case (_, let qx?):
                    pg_linear_rows_quantized(qx, m, k, p.weight, p.code, r0, r1, p.bias, p.out, p.n)
                case (_, nil):
                    pg_linear_rows(x, m, k, p.weight, p.code, r0, r1, p.bias, p.out, p.n)
                }
            }
        }
    }

    /// One product of a `linear` call as its tasks read it (no references to count).
    struct TaskPlan {
        let weight: UnsafeRawPointer
        let code: Int32
        let n: Int64
        let bias: UnsafePointer<Float>?
        let out: UnsafeMutablePointer<Float>
        let format: Activations
        /// x as this product reads it (nil: the f32 x itself).
        let x: UnsafeRawPointer?
        /// W rows per task, and the index of the product's first task in the call.
        let rowsPerTask: Int
        let firstTask: Int
    }

    /// How a product reads x: f32, quantized once per call to 8-bit blocks, or packed once for AMX.
    enum Activations: Equatable {
        /// f32 (float weights; k-quants as stored in the file, in prefill, dequantize into f32 panels).
        case f32
        /// Blocks of 32 with an f32 scale (Q8_0, and Q4_0 where k is not a multiple of 256).
        case blocks
        /// llama.cpp's Q8_K rounding, one scale per 256 (Q4_K, Q6_K, Q4_Kx8; Q4_0 where k is a
        /// multiple of 256: Q4_0x16's wide tile then applies x's scale once per 8 blocks).
        case kBlocks
        /// Q8_K with 128 added to every byte (Q6_Kx8 multiplies the signed q − 32 by x + 128).
        case kBlocksOffset
        /// bf16 weights on AMX (`PANGU_KERNEL_ISA=amx`): x as three bf16 parts in tiles.
        case bf16Parts
        /// bf16 activations against bf16 weights on AVX-512 BF16: x rounded to bf16 (`pg_pack_bf16x`).
        case bf16
        /// bf16 activations elsewhere: x rounded to bf16, kept as f32 for the f32 kernels.
        case bf16Rounded

        init(weight dtype: DType, m: Int, k: Int, bf16 bf16Activations: Bool = false) {
            if dtype == .bf16 && bf16Activations {
                self = pg_bf16x_bytes(Int64(m), Int64(k)) > 0 ? .bf16 : .bf16Rounded
            } else if dtype == .bf16 {
                self = pg_bf16_parts_bytes(Int64(m), Int64(k)) > 0 ? .bf16Parts : .f32
            } else if dtype == .q6_Kx8 {
                self = .kBlocksOffset
            } else if dtype.isKQuant {
                self = dtype.isInterleaved || m < packedRowsThreshold ? .kBlocks : .f32
            } else if dtype == .q4_0 || dtype == .q4_0x16, k % DType.kQuantBlockSize == 0 {
                self = .kBlocks
            } else {
                self = dtype.hasInt8Kernels ? .blocks : .f32
            }
        }

        func bytes(m: Int, k: Int) -> Int {
            switch self {
            case .bf16Parts: return Int(pg_bf16_parts_bytes(Int64(m), Int64(k)))
            case .bf16: return Int(pg_bf16x_bytes(Int64(m), Int64(k)))
            case .bf16Rounded: return m * k * MemoryLayout<Float>.stride
            default: break
            }
            return pg_quantized_activation_bytes(Int64(m), Int64(k))
        }

        func quantize(_ x: UnsafePointer<Float>, m: Int, k: Int, into qx: UnsafeMutableRawPointer, pool: KernelPool) {
            switch self {
            case .f32: break
            case .bf16Parts:  // about 2 ns per value on one Zen 3 core (it writes 1.5 times x): all threads
                pool.parallelFor(m / 16) { t in pg_pack_bf16_parts(x, Int64(k), Int64(t), Int64(t + 1), qx) }
            case .bf16:
                pool.parallelFor(Int(pg_bf16x_units(Int64(m)))) { u in
                    pg_pack_bf16x(x, Int64(m), Int64(k), Int64(u), Int64(u + 1), qx)
                }
            case .bf16Rounded:
                let rounded = qx.assumingMemoryBound(to: Float.self)
                pool.parallelRanges(m * k, minChunk: 1 << 14) { r in
                    for j in r { rounded[j] = Precision.round(x[j], to: .bf16) }
                }
            case .blocks, .kBlocks, .kBlocksOffset:
                // Rows in ranges on every thread in prefill and batched decode (one thread left the
                // other idle for about 1.5 % of a 512-token prefill per format at 2 threads).
                let (m64, k64) = (Int64(m), Int64(k))
                pool.parallelRanges(m, minChunk: KernelPool.minRowsPerRange) { r in
                    let (r0, r1) = (Int64(r.lowerBound), Int64(r.upperBound))
                    if self == .blocks {
                        pg_quantize_activation_rows(x, m64, k64, r0, r1, qx)
                    } else {
                        pg_quantize_activation_rows_k(x, m64, k64, r0, r1, qx)
                        if self == .kBlocksOffset { pg_offset_activations(qx + r.lowerBound * k, r1 - r0, k64) }
                    }
                }
            }
        }
    }

    /// W rows per pool task: enough tasks (8 per thread) to balance a shared
    /// machine, each a multiple of the kernel's row blocking (and of the 8-row
    /// groups of the interleaved types) and not so small
    /// that dispatch dominates.
    @usableFromInline static func taskRows(m: Int, n: Int, k: Int, numThreads: Int) -> Int {
        if numThreads <= 1 { return n }
        let granule = m >= packedRowsThreshold ? 64 : 48  // 48: the f32 kernels' 3 rows, Q8_0x16's 16
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
        case .q8_0x16: Int32(PG_DTYPE_Q8_0X16)
        case .q4_0x16: Int32(PG_DTYPE_Q4_0X16)
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
