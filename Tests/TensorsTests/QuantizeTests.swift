import Testing

@testable import Tensors

/// Q8_0 weights: the GGUF block layout, quantization error, and the linear
/// kernel on quantized weights against the plain loop.
@Suite("Q8_0 quantization") struct QuantizeTests {
    static let pool = KernelPool(numThreads: 2)

    static func values(_ n: Int, seed: Int) -> [Float] {
        (0..<n).map { i in Float(((i &* 2_654_435_761 &+ seed &* 97) % 2001) - 1000) / 1000 }
    }

    @Test("a block is an f16 scale max|x|/127 followed by 32 int8 values")
    func blockLayout() {
        var v = [Float](repeating: 0, count: 64)
        for i in 0..<32 { v[i] = Float(i - 16) / 8 }  // max |x| = 2
        v[40] = -0.5  // second block: max |x| = 0.5
        let q = WeightTensor.owning(v, shape: [2, 32], dtype: .q8_0)
        #expect(q.dtype == .q8_0)
        #expect(q.byteCount == 2 * 34)
        let bytes = q.data
        #expect(Precision.f16ToFloat(bytes.loadUnaligned(as: UInt16.self)) == Precision.round(2.0 / 127, to: .f16))
        #expect(bytes.load(fromByteOffset: 2, as: Int8.self) == -127)  // -2 / (2/127)
        #expect(bytes.load(fromByteOffset: 2 + 16, as: Int8.self) == 0)
        #expect(bytes.load(fromByteOffset: 34 + 2 + 8, as: Int8.self) == -127)  // v[40]
        #expect(bytes.load(fromByteOffset: 34 + 2, as: Int8.self) == 0)
    }

    @Test("dequantized values are within half a quantization step of the originals")
    func quantizationError() {
        let (rows, cols) = (5, 96)
        let v = Self.values(rows * cols, seed: 3)
        let q = WeightTensor.owning(v, shape: [rows, cols], dtype: .bf16).quantizedQ8_0()
        #expect(q.shape == [rows, cols])
        var widened = [Float](repeating: .nan, count: cols)
        for r in 0..<rows {
            widened.withUnsafeMutableBufferPointer { q.copyRow(r, to: $0.baseAddress!) }
            for b in 0..<cols / 32 {
                let block = (0..<32).map { Precision.round(v[r * cols + b * 32 + $0], to: .bf16) }
                let step = (block.map(abs).max() ?? 0) / 127
                for i in 0..<32 {
                    let j = b * 32 + i
                    #expect(abs(widened[j] - block[i]) <= step * 0.5 + 1e-3 * step + 1e-7)
                    #expect(widened[j] == q.element(r * cols + j))
                }
            }
        }
    }

    @Test("activations are quantized per block of 32 exactly as documented (SIMD path, ties and zero blocks)")
    func activationQuantization() {
        var x = Self.values(32 * 7, seed: 11)
        for j in 64..<96 { x[j] = 0 }  // an all-zero block
        x[100] = 127 * 0.5 / 127 * 3  // mixed magnitudes in one block
        for j in 160..<192 { x[j] = Float(j - 176) / 2 }  // exact halves: ties round to even
        #expect(QuantizedActivations.kernelRoundTrip(x) == QuantizedActivations.roundTrip(x))
    }

    @Test(
        "linear on block-quantized weights equals the plain loop over quantized activations (decode and 8-row tiles, tails)",
        arguments: DType.blockQuantizedCases)
    func linearMatchesReference(dtype: DType) {
        for (m, n, k) in [
            (1, 37, 32), (1, 9, 96), (1, 70, 64), (2, 21, 64), (5, 30, 288), (17, 13, 32), (13, 150, 64),
            (67, 83, 288), (101, 20, 320),
        ] {
            let w = WeightTensor.owning(Self.values(n * k, seed: n), shape: [n, k], dtype: dtype)
            let x = Self.values(m * k, seed: k &+ m)
            let bias = Self.values(n, seed: 5)
            let expected = QuantizedActivations.reference(x: x, m: m, weight: w, bias: bias)
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
            var worst: Float = 0
            for i in 0..<m * n { worst = max(worst, abs(out[i] - expected[i]) / max(1, abs(expected[i]))) }
            #expect(worst <= 2e-5, "\(dtype) m=\(m) n=\(n) k=\(k): error \(worst)")
        }
    }

    @Test("Q8_0 is never accepted as a safetensors dtype name")
    func notASafetensorsType() {
        #expect(DType(rawValue: "Q8_0") == nil)
        #expect(DType(rawValue: "BF16") == .bf16)
        #expect(DType(name: "q8_0") == nil)
    }

    @Test("quantizing an already-quantized tensor returns it unchanged")
    func idempotent() {
        let q = WeightTensor.owning(Self.values(64, seed: 1), shape: [2, 32], dtype: .q8_0)
        #expect(q.quantizedQ8_0().data == q.data)
    }
}
