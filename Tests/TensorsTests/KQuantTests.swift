import Testing

@testable import Tensors

/// llama.cpp's Q4_K / Q6_K super-blocks: decoding of hand-built blocks (every
/// 6-bit packing case, negative scales), and the linear kernels on them.
@Suite("K-quants") struct KQuantTests {
    static let pool = KernelPool(numThreads: 3)

    /// A [rows, 256 · blocks.count / rows] tensor owning the concatenated block bytes.
    static func tensor(_ dtype: DType, rows: Int, _ blocks: [[UInt8]]) -> WeightTensor {
        let bytes = blocks.flatMap { $0 }
        let storage = HeapStorage(byteCount: bytes.count)
        storage.pointer.copyMemory(from: bytes, byteCount: bytes.count)
        let cols = blocks.count * DType.kQuantBlockSize / rows
        return WeightTensor(dtype: dtype, shape: [rows, cols], data: UnsafeRawPointer(storage.pointer), owner: storage)
    }

    /// Every element, through `element` and through `copyRow`, equals `expected`.
    static func expectDecodes(_ w: WeightTensor, _ expected: (Int) -> Float) {
        var row = [Float](repeating: .nan, count: w.cols)
        for r in 0..<w.rows {
            row.withUnsafeMutableBufferPointer { w.copyRow(r, to: $0.baseAddress!) }
            for j in 0..<w.cols {
                let i = r * w.cols + j
                #expect(w.element(i) == expected(i), "element \(i)")
                #expect(row[j] == expected(i), "row \(r) column \(j)")
            }
        }
    }

    @Test("the k-quant dtypes describe 256-weight super-blocks of 144 and 210 bytes")
    func sizes() {
        #expect(DType.q4_K.blockSize == 256 && DType.q6_K.blockSize == 256)
        #expect(DType.q4_K.byteCount(numElements: 512) == 288 && DType.q6_K.byteCount(numElements: 768) == 630)
        #expect(DType.q4_K.isBlockQuantized && DType.q6_K.isBlockQuantized)
        #expect(!DType.q4_K.hasInt8Kernels && !DType.q6_K.hasInt8Kernels && DType.q8_0.hasInt8Kernels)
        #expect(DType(rawValue: "Q4_K") == nil && DType.q6_K.rawValue == "Q6_K")
        #expect(KQuantBlocks.Q4K(d: 0, dmin: 0, scales: .init(repeating: 0, count: 8),
            mins: .init(repeating: 0, count: 8), quants: .init(repeating: 0, count: 256)).bytes.count == 144)
    }

    @Test("Q4_K packed scale bytes decode to the 6-bit scales and mins, upper sub-blocks from split bits")
    func q4KScaleBytes() {
        // Bytes 0-3: scale bits (top 2 bits: upper sub-blocks' scales), 4-7: mins (top 2: upper mins),
        // 8-11: upper sub-blocks' low scale nibble | low min nibble << 4.
        let packed: [UInt8] = [0xC5, 0x3F, 0x40, 0x80, 0x7E, 0xC0, 0x01, 0xFF, 0x21, 0xF0, 0x0F, 0x00]
        // s < 4: low 6 bits of bytes s and s + 4. s >= 4, e.g. s = 4: scale = (0x21 & 15) | (0xC5 >> 6) << 4
        // = 1 + 48, min = (0x21 >> 4) | (0x7E >> 6) << 4 = 2 + 16.
        let scales: [UInt8] = [5, 63, 0, 0, 49, 0, 31, 32]
        let mins: [UInt8] = [62, 0, 1, 63, 18, 63, 0, 48]
        packed.withUnsafeBytes { raw in
            for s in 0..<8 {
                let (scale, min) = KQuant.q4_KScaleMin(raw.baseAddress!, s)
                #expect(scale == scales[s] && min == mins[s], "sub-block \(s)")
            }
        }
    }

    @Test("hand-built Q4_K blocks decode to (d·scale)·q − dmin·min, every scale/min packing edge case")
    func q4KDecoding() {
        let quants = (0..<256).map { (i: Int) -> UInt8 in UInt8((i * 7 + i / 32) % 16) }
        let blocks: [KQuantBlocks.Q4K] = [
            // d = 1, dmin = 0.5; scales and mins at 0, 63 and values using each upper bit pattern.
            KQuantBlocks.Q4K(d: 0x3C00, dmin: 0x3800, scales: [1, 2, 63, 0, 63, 48, 17, 32],
                             mins: [0, 63, 5, 7, 63, 16, 47, 1], quants: quants),
            // All-63 (every packed bit set) and all-zero mins.
            KQuantBlocks.Q4K(d: 0x2E66, dmin: 0x1400, scales: .init(repeating: 63, count: 8),
                             mins: .init(repeating: 0, count: 8), quants: Array(quants.reversed())),
            // Zero scales (weights = −min), mins 15 / 16 around the nibble boundary.
            KQuantBlocks.Q4K(d: 0x3555, dmin: 0x3C00, scales: .init(repeating: 0, count: 8),
                             mins: [15, 16, 31, 32, 15, 16, 31, 32], quants: quants),
        ]
        let w = Self.tensor(.q4_K, rows: 1, blocks.map(\.bytes))
        #expect(w.byteCount == 3 * 144)
        Self.expectDecodes(w) { i in blocks[i / 256].value(i % 256) }
        // Spot values worked by hand: block 0 weight 0 is 1·1·q0 − 0.5·0 with q0 = 0;
        // weight 32 (sub-block 1) = 2·q − 0.5·63 with q = (224 + 1) % 16 = 1.
        #expect(w.element(0) == 0 && w.element(32) == 2 - 31.5)
        // Weight 200 (sub-block 6, scale 17, min 47): q = (1400 + 6) % 16 = 14 → 17·14 − 23.5.
        #expect(w.element(200) == 238 - 23.5)
    }

    @Test("hand-built Q6_K blocks decode to (d·scale)·(q − 32), negative scales and every high-bit pair")
    func q6KDecoding() {
        let blocks: [KQuantBlocks.Q6K] = [
            KQuantBlocks.Q6K(quants: (0..<256).map { (i: Int) -> UInt8 in UInt8((i * 5 + i / 16) % 64) },
                             scales: [1, -1, 127, -128, 0, 2, -3, 64, -64, 5, -7, 9, 33, -33, 100, -100], d: 0x3800),
            KQuantBlocks.Q6K(quants: (0..<256).map { (i: Int) -> UInt8 in UInt8(63 - i % 64) },
                             scales: (0..<16).map { (i: Int) -> Int8 in Int8(i * 16 - 128) }, d: 0xB266),
        ]
        let w = Self.tensor(.q6_K, rows: 2, blocks.map(\.bytes))
        #expect(w.shape == [2, 256] && w.byteCount == 2 * 210)
        Self.expectDecodes(w) { i in blocks[i / 256].value(i % 256) }
        // By hand: weight 0: 0.5·1·(0 − 32) = −16; weight 16: 0.5·(−1)·(81 % 64 − 32) = 7.5;
        // weight 255 (scale −100): q = (1275 + 15) % 64 = 10 → 0.5·(−100)·(10 − 32) = 1100.
        #expect(w.element(0) == -16 && w.element(16) == 7.5 && w.element(255) == 1100)
    }

    /// `blocksPerRow` random super-blocks per row for n rows.
    static func randomWeight(_ dtype: DType, n: Int, blocksPerRow: Int, seed: UInt64) -> WeightTensor {
        var g = KQuantBlocks.Generator(state: seed)
        let blocks = (0..<n * blocksPerRow).map { _ in
            dtype == .q4_K ? KQuantBlocks.randomQ4K(&g).bytes : KQuantBlocks.randomQ6K(&g).bytes
        }
        return tensor(dtype, rows: n, blocks)
    }

    /// FNV-1a (64-bit) over the f32 bit patterns of every element, little-endian, in order.
    static func fnv1a(_ w: WeightTensor) -> UInt64 {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for i in 0..<w.numElements {
            let bits = w.element(i).bitPattern
            for shift in stride(from: 0, to: 32, by: 8) {
                hash = (hash ^ UInt64((bits >> UInt32(shift)) & 0xFF)) &* 0x0000_0100_0000_01B3
            }
        }
        return hash
    }

    /// Golden hashes of gguf-py 0.19.0's `gguf.quants.dequantize` (llama.cpp's reference
    /// dequantizer in numpy) on the bytes of `randomWeight(dtype, n: 4, blocksPerRow: 2, seed:)`,
    /// computed once outside the test with the same FNV-1a over its f32 output.
    @Test("random super-blocks decode bit for bit as gguf-py's dequantize does (golden hashes)")
    func matchesGGUFPyGolden() {
        let q4 = Self.randomWeight(.q4_K, n: 4, blocksPerRow: 2, seed: 2024)
        let q6 = Self.randomWeight(.q6_K, n: 4, blocksPerRow: 2, seed: 2025)
        #expect(Self.fnv1a(q4) == 0x7192_F3BB_515C_057E)
        #expect(Self.fnv1a(q6) == 0x268B_BE91_1AAB_8554)
    }

    @Test("linear on Q4_K / Q6_K weights equals the plain loop (decode, batched and packed paths)",
          arguments: DType.kQuantCases)
    func linearMatchesReference(dtype: DType) {
        for (m, n, k) in [(1, 1, 256), (1, 37, 768), (3, 37, 256), (17, 13, 768), (70, 37, 256), (70, 1, 768)] {
            let w = Self.randomWeight(dtype, n: n, blocksPerRow: k / 256, seed: UInt64(m * 1000 + n + k))
            let x = KernelTests.values(m * k, seed: k + m)
            let bias = KernelTests.values(n, seed: 5)
            // Below the prefill threshold the kernels see activations rounded as llama.cpp's Q8_K.
            let seen = m < MatMul.packedRowsThreshold ? QuantizedActivations.roundTripK(x) : x
            let expected = MatMul.linearReference(x: seen, m: m, weight: w, bias: bias)
            var out = [Float](repeating: .nan, count: m * n)
            x.withUnsafeBufferPointer { xp in
                out.withUnsafeMutableBufferPointer { op in
                    MatMul.linear(x: xp.baseAddress!, m: m, weight: w, bias: bias, out: op.baseAddress!, pool: Self.pool)
                }
            }
            for i in 0..<m {
                for r in 0..<n {
                    // Relative to the sum of |terms| (a dot product's natural error scale).
                    var magnitude: Float = abs(bias[r])
                    for j in 0..<k { magnitude += abs(seen[i * k + j] * w.element(r * k + j)) }
                    let (got, want) = (out[i * n + r], expected[i * n + r])
                    #expect(abs(got - want) <= 2e-5 * max(1, magnitude), "m \(m) n \(n) k \(k) at [\(i), \(r)]")
                }
            }
        }
    }
}
