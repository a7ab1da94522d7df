import Testing

@testable import Tensors

/// Q8_0 and Q4_0 repacked in groups of 16 rows (`DType.q8_0x16`, `q4_0x16`), Q4_K and Q6_K in
/// groups of 8 (`q4_Kx8`, `q6_Kx8`): the repacking keeps every weight, and the kernels on them
/// equal the plain loop and the row-by-row kernels.
@Suite("Interleaved Q8_0x16 / Q4_0x16 / Q4_Kx8 / Q6_Kx8 layouts") struct InterleavedLayoutTests {
    static let pool = KernelPool(numThreads: 2)

    /// The repacked type of each block type of 32 for a matrix of `rows` rows (it stays as it is
    /// unless they make groups of 16).
    static func repacked(_ dtype: DType, rows: Int) -> DType {
        rows % 16 != 0 ? dtype : dtype == .q8_0 ? .q8_0x16 : .q4_0x16
    }

    @Test("repacking keeps every weight, element by element and row by row", arguments: DType.blockQuantizedCases)
    func repackKeepsWeights(dtype: DType) {
        for (n, k) in [(8, 32), (16, 96), (32, 1536)] {
            let q4 = WeightTensor.owning(QuantizeTests.values(n * k, seed: n + k), shape: [n, k], dtype: dtype)
            let x8 = q4.interleaved()
            #expect(x8.dtype == Self.repacked(dtype, rows: n) && x8.byteCount == q4.byteCount && x8.shape == q4.shape)
            #expect(x8.toFloats() == q4.toFloats(), "n=\(n) k=\(k)")
            var row = [Float](repeating: .nan, count: k)
            for r in [0, 5, n - 1] {
                row.withUnsafeMutableBufferPointer { x8.copyRow(r, to: $0.baseAddress!) }
                #expect(row == Array(q4.toFloats()[r * k..<(r + 1) * k]), "row \(r)")
            }
        }
    }

    @Test("only matrices with a multiple of 16 rows are repacked (8 for the k-quants)")
    func repackNeedsWholeGroups() {
        let odd = WeightTensor.owning(QuantizeTests.values(12 * 32, seed: 3), shape: [12, 32], dtype: .q4_0)
        #expect(odd.interleaved().dtype == .q4_0 && odd.interleaved().data == odd.data)
        let q8 = WeightTensor.owning(QuantizeTests.values(24 * 32, seed: 3), shape: [24, 32], dtype: .q8_0)
        #expect(q8.interleaved().dtype == .q8_0 && q8.interleaved().data == q8.data)
        let bf16 = WeightTensor.owning(QuantizeTests.values(16 * 32, seed: 3), shape: [16, 32], dtype: .bf16)
        #expect(bf16.interleaved().data == bf16.data)
        let direct = WeightTensor.owning(QuantizeTests.values(16 * 64, seed: 4), shape: [16, 64], dtype: .q4_0x16)
        #expect(direct.dtype == .q4_0x16 && direct.toFloats() == direct.quantized(to: .q4_0).toFloats())
    }

    @Test(
        "linear on Q8_0x16 / Q4_0x16 equals the plain loop over quantized activations and the row-by-row kernel",
        arguments: DType.blockQuantizedCases)
    func linearMatchesReference(dtype: DType) {
        for (m, n, k) in [
            (1, 16, 32), (1, 64, 96), (2, 48, 64), (3, 80, 288), (4, 16, 32), (5, 48, 64), (7, 16, 1536),
            (13, 160, 64), (67, 176, 288), (101, 32, 320), (5, 80, 8192), (5, 64, 8192), (48, 64, 1536),
            (9, 1024, 64), (3, 24, 64),  // 24 rows: not repacked
            (18, 624, 1536), (17, 336, 1536),  // 16+ x rows: wide tiles of 4, 2, 1; chunks of W end in pairs, groups
        ] {
            let q4 = WeightTensor.owning(QuantizeTests.values(n * k, seed: n), shape: [n, k], dtype: dtype)
            let x8 = q4.interleaved()
            #expect(x8.dtype == Self.repacked(dtype, rows: n))
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
            // The row-by-row Q4_0 kernel takes the offset of 8 out once per row (8 sum d_w s_x), so its
            // rounding grows with k: 4.5e-5 from the plain loop at k = 8192, n = 80.
            #expect(worstAgainstQ4 <= 1e-4, "m=\(m) n=\(n) k=\(k): against \(dtype) \(worstAgainstQ4)")
        }
    }

    @Test(
        "k-quant repacking keeps every weight (Q4_K's scales and mins, Q6_K's scale pairs)",
        arguments: DType.kQuantCases)
    func repackKeepsKQuantWeights(dtype: DType) {
        let q4K = KQuantTests.randomWeight(dtype, n: 16, blocksPerRow: 3, seed: 77)
        let x8 = q4K.interleaved()
        let (target, bytes) = dtype == .q4_K ? (DType.q4_Kx8, 148) : (.q6_Kx8, 214)
        #expect(x8.dtype == target && x8.byteCount == q4K.byteCount / (dtype == .q4_K ? 144 : 210) * bytes)
        #expect(x8.shape == q4K.shape && x8.toFloats() == q4K.toFloats())
        var row = [Float](repeating: .nan, count: q4K.cols)
        row.withUnsafeMutableBufferPointer { x8.copyRow(13, to: $0.baseAddress!) }
        #expect(row == Array(q4K.toFloats()[13 * q4K.cols..<14 * q4K.cols]))
        #expect(KQuantTests.randomWeight(dtype, n: 12, blocksPerRow: 1, seed: 1).interleaved().dtype == dtype)
    }

    @Test(
        "linear on Q4_Kx8 / Q6_Kx8 equals the plain loop over Q8_K-rounded activations and the row-by-row kernel",
        arguments: DType.kQuantCases)
    func linearKQuantMatchesReference(dtype: DType) {
        for (m, n, k) in [
            (1, 8, 256), (1, 40, 768), (3, 16, 256), (5, 24, 512), (17, 16, 768), (70, 8, 256), (6, 64, 8192),
            (40, 56, 512), (45, 32, 768),  // 9+ x rows: Q6_Kx8 expands W (tiles of 4 x rows over two pairs or one, 1)
            (18, 640, 512),  // two chunks of expanded pairs, the second of two
        ] {
            let q4K = KQuantTests.randomWeight(dtype, n: n, blocksPerRow: k / 256, seed: UInt64(m * 1000 + n + k))
            let x8 = q4K.interleaved()
            let x = QuantizeTests.values(m * k, seed: k + m)
            let bias = QuantizeTests.values(n, seed: 5)
            let seen = QuantizedActivations.roundTripK(x)
            let expected = MatMul.linearReference(x: seen, m: m, weight: q4K, bias: bias)
            let fast = Self.linear(x: x, m: m, weight: x8, bias: bias)
            let rowByRow = m < MatMul.packedRowsThreshold ? Self.linear(x: x, m: m, weight: q4K, bias: bias) : expected
            let weights = q4K.toFloats()
            for i in 0..<m {
                for r in 0..<n {
                    var magnitude: Float = abs(bias[r])  // a dot product's natural error scale
                    for j in 0..<k { magnitude += abs(seen[i * k + j] * weights[r * k + j]) }
                    let got = fast[i * n + r]
                    #expect(
                        abs(got - expected[i * n + r]) <= 2e-5 * max(1, magnitude), "m \(m) n \(n) k \(k) [\(i), \(r)]")
                    #expect(abs(got - rowByRow[i * n + r]) <= 2e-5 * max(1, magnitude), "against \(dtype) [\(i), \(r)]")
                }
            }
        }
    }

    @Test("activations for k-quants are rounded exactly as llama.cpp's Q8_K (signed extreme, ties, clamp, zeros)")
    func q8KRounding() {
        var x = QuantizeTests.values(1024, seed: 9).map { $0 * 3 }
        x[7] = -4
        x[100] = 4  // equal magnitude later: the first (negative) one sets the scale
        for j in 256..<512 { x[j] = Float(j - 384) / 2 }  // with the scale below, x / d = -x: ties to even
        x[256] = 127  // the group's extreme, positive: d = -1
        for j in 512..<768 { x[j] = 0 }  // an all-zero group
        x[800] = 1000  // one value far above the rest: the others round to 0, ±1
        #expect(QuantizedActivations.kernelRoundTrip(x, kQuant: true) == QuantizedActivations.roundTripK(x))
    }

    @Test(
        "products sharing x (q, k, v; gate, up) run as one job give each product alone, bit for bit, whatever the mix")
    func groupedProductsEqualSingles() {
        let k = 512
        let weights = [
            WeightTensor.owning(QuantizeTests.values(48 * k, seed: 1), shape: [48, k], dtype: .q4_0).interleaved(),
            KQuantTests.randomWeight(.q4_K, n: 16, blocksPerRow: k / 256, seed: 2).interleaved(),
            KQuantTests.randomWeight(.q6_K, n: 40, blocksPerRow: k / 256, seed: 3).interleaved(),
            KQuantTests.randomWeight(.q6_K, n: 12, blocksPerRow: k / 256, seed: 4),  // 12 rows: not repacked
            WeightTensor.owning(QuantizeTests.values(33 * k, seed: 5), shape: [33, k], dtype: .bf16),
            WeightTensor.owning(QuantizeTests.values(16 * k, seed: 6), shape: [16, k], dtype: .q8_0).interleaved(),
        ]
        #expect(weights.map(\.dtype) == [.q4_0x16, .q4_Kx8, .q6_Kx8, .q6_K, .bf16, .q8_0x16])
        for m in [1, 5, 70] {  // decode, batched decode, prefill (f32 panels for bf16 and plain Q6_K)
            let x = QuantizeTests.values(m * k, seed: m)
            let biases = weights.indices.map { QuantizeTests.values(weights[$0].rows, seed: 10 + $0) }
            let alone = weights.indices.map { Self.linear(x: x, m: m, weight: weights[$0], bias: biases[$0]) }
            let outs = weights.map { UnsafeMutablePointer<Float>.allocate(capacity: m * $0.rows) }
            defer { outs.forEach { $0.deallocate() } }
            let biasPointers = biases.map { b in
                let p = UnsafeMutablePointer<Float>.allocate(capacity: b.count)
                p.initialize(from: b, count: b.count)
                return p
            }
            defer { biasPointers.forEach { $0.deallocate() } }
            x.withUnsafeBufferPointer { xp in
                MatMul.linear(
                    x: xp.baseAddress!, m: m,
                    products: weights.indices.map { .init(weight: weights[$0], bias: biasPointers[$0], out: outs[$0]) },
                    pool: Self.pool)
            }
            for i in weights.indices {
                let together = Array(UnsafeBufferPointer(start: outs[i], count: m * weights[i].rows))
                #expect(together == alone[i], "m=\(m) \(weights[i].dtype)")
            }
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
