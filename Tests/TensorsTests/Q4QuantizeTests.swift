import Testing

@testable import Tensors

/// Q4_0 weights: llama.cpp's reference quantizer bit for bit on hand-worked
/// blocks, the round-trip error bound, and the linear kernel on Q4_0 weights.
@Suite("Q4_0 quantization") struct Q4QuantizeTests {

    /// The 18 bytes of block `b` of a one-row Q4_0 tensor.
    static func block(_ tensor: WeightTensor, _ b: Int) -> [UInt8] {
        Array(UnsafeRawBufferPointer(start: tensor.data + b * 18, count: 18))
    }

    /// f16 scale (little-endian) then the 16 nibble-pair bytes.
    static func bytes(scale: UInt16, _ nibbles: [UInt8]) -> [UInt8] {
        [UInt8(scale & 0xFF), UInt8(scale >> 8)] + nibbles
    }

    @Test("hand-worked blocks quantize to the bytes of ggml's quantize_row_q4_0_ref")
    func referenceBytes() {
        var v = [Float](repeating: 0, count: 4 * 32)
        // Block 0: x_i = (i - 16) / 8. Extreme -2 → d = 0.25 (f16 0x3400), id = 4,
        // q_i = trunc((i - 16) / 2 + 8.5) = (i + 1) / 2, and q_31 = 16 clipped to 15.
        for i in 0..<32 { v[i] = Float(i - 16) / 8 }
        // Block 1: the extreme keeps its sign and the first of equal magnitudes wins: x_5 = 3
        // (not x_30 = -3) → d = -0.375 (f16 0xB600), id = -8/3. q_5 = trunc(-8 + 8.5) = 0,
        // q_30 = trunc(8 + 8.5) = 16 → 15, q_20 (x = -1) = trunc(8/3 + 8.5) = 11,
        // q_9 (x = 0.7) = trunc(-1.867 + 8.5) = 6, zeros → 8.
        (v[32 + 5], v[32 + 30], v[32 + 20], v[32 + 9]) = (3, -3, -1, 0.7)
        // Block 2: all zeros → d = 0 / -8 = -0 (f16 0x8000), id = 0, every q = 8.
        // Block 3: extreme -0.8 → d = 0.1 (f16 0x2E66 = 0.099976), id = 1 / 0.1 in f32 ≈ 10:
        // x_1 = 0.6499 → trunc(6.499 + 8.5) = 14 (dividing by the f16 scale would give 15).
        (v[96], v[97]) = (-0.8, 0.6499)
        let q = WeightTensor.owning(v, shape: [1, 128], dtype: .q4_0)
        #expect(q.dtype == .q4_0 && q.byteCount == 4 * 18)
        #expect(
            Self.block(q, 0)
                == Self.bytes(
                    scale: 0x3400,
                    [0x80, 0x91, 0x91, 0xA2, 0xA2, 0xB3, 0xB3, 0xC4, 0xC4, 0xD5, 0xD5, 0xE6, 0xE6, 0xF7, 0xF7, 0xF8]))
        var block1 = [UInt8](repeating: 0x88, count: 16)
        (block1[4], block1[5], block1[9], block1[14]) = (0xB8, 0x80, 0x86, 0xF8)
        #expect(Self.block(q, 1) == Self.bytes(scale: 0xB600, block1))
        #expect(Self.block(q, 2) == Self.bytes(scale: 0x8000, [UInt8](repeating: 0x88, count: 16)))
        var block3 = [UInt8](repeating: 0x88, count: 16)
        (block3[0], block3[1]) = (0x80, 0x8E)
        #expect(Self.block(q, 3) == Self.bytes(scale: 0x2E66, block3))
        // Decoding: weight = d_f16 · (nibble - 8).
        #expect(q.element(0) == -2 && q.element(16) == 0 && q.element(31) == 1.75)
        #expect(q.element(32 + 30) == -0.375 * 7 && q.element(32 + 20) == 0.375 * -3)
        #expect(q.element(97) == Precision.f16ToFloat(0x2E66) * 6)
    }

    @Test("dequantized values are within half a step of the bf16 originals (a whole step at the clipped end)")
    func roundTripError() {
        let (rows, cols) = (7, 160)
        let v = QuantizeTests.values(rows * cols, seed: 11).enumerated().map { i, x in x * Float(1 + i % 5) }
        let q = WeightTensor.owning(v, shape: [rows, cols], dtype: .bf16).quantizedQ4_0()
        #expect(q.shape == [rows, cols] && q.byteCount == rows * cols / 32 * 18)
        var widened = [Float](repeating: .nan, count: cols)
        var numClipped = 0
        for r in 0..<rows {
            widened.withUnsafeMutableBufferPointer { q.copyRow(r, to: $0.baseAddress!) }
            for b in 0..<cols / 32 {
                let block = (0..<32).map { Precision.round(v[r * cols + b * 32 + $0], to: .bf16) }
                let extreme = block.max { abs($0) < abs($1) } ?? 0
                let d = abs(extreme / -8)
                for i in 0..<32 {
                    let j = b * 32 + i
                    // The grid is d·(-8...7): values within half a step of d·8 (sign opposite to the
                    // extreme) clip to level 7, up to one step away. f16 rounding of d adds ≤ 8·d·2⁻¹¹.
                    let clipped = block[i] * (extreme < 0 ? 1 : -1) > 7.5 * d
                    numClipped += clipped ? 1 : 0
                    let bound = d * ((clipped ? 1 : 0.5) + 8.0 / 2048) + 1e-7
                    #expect(abs(widened[j] - block[i]) <= bound, "row \(r) col \(j)")
                    #expect(widened[j] == q.element(r * cols + j))
                }
            }
        }
        #expect(numClipped > 0, "the data should exercise the clipped end of the grid")
    }

    @Test("Q4_0 sizes: 18 bytes per 32 weights, rows of whole blocks, never a safetensors dtype")
    func sizesAndNames() {
        #expect(DType.q4_0.byteCount(numElements: 64) == 36)
        #expect(DType.q4_0.blockSize == 32 && DType.q4_0.isBlockQuantized && !DType.bf16.isBlockQuantized)
        #expect(DType.blockQuantizedCases == [.q8_0, .q4_0])
        #expect(DType(rawValue: "Q4_0") == nil)
        #expect(DType(name: "q4_0") == nil)
        #expect(Precision.round(0.123, to: .q4_0) == 0.123)
        #expect(MatMul.dtypeCode(.q4_0) == 4)
    }

    @Test("quantizing to the tensor's own type returns it; q8_0 → q4_0 re-quantizes the decoded values")
    func quantizedToTarget() {
        let q4 = WeightTensor.owning(QuantizeTests.values(64, seed: 2), shape: [2, 32], dtype: .q4_0)
        #expect(q4.quantized(to: .q4_0).data == q4.data)
        let q8 = WeightTensor.owning(QuantizeTests.values(64, seed: 2), shape: [2, 32], dtype: .q8_0)
        let requantized = q8.quantized(to: .q4_0)
        let direct = WeightTensor.owning(q8.toFloats(), shape: [2, 32], dtype: .q4_0)
        #expect(requantized.dtype == .q4_0 && requantized.toFloats() == direct.toFloats())
    }
}
