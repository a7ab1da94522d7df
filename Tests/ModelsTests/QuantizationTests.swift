import Foundation
import Models
import Tensors
import Testing

/// `--quantize q8_0`: the projection matrices quantized at load keep the model's logits and greedy choices.
@Suite("Load-time Q8_0 quantization", .enabled(if: SharedData.isAvailable, "../shared/data is absent"))
struct QuantizationTests {
    static let pool = KernelPool(numThreads: 2)
    static let directory = SharedData.url("models/tiny-pangu-embedded")
    /// Bounds on max |quantized - float| / max |float| over a row of logits: in the worst row, and on
    /// average over rows. The error is the model's, not the kernels': an independent float64 NumPy
    /// forward of this random checkpoint with Q8_0-rounded matrices differs from the float one by
    /// 1.5-2.6% per row (0.0178 on `bos_only`); we measure worst 0.040, mean 0.020.
    static let maxRelativeError: Float = 5e-2
    static let meanRelativeError: Float = 3e-2
    /// Greedy choices must agree where the float model's top-1 leads its top-2 by more than this (logit units).
    static let clearMargin: Float = 0.1

    @Test("q8_0 weights give logits within 5e-2 relative error (3e-2 on average) and read fewer bytes")
    func logitsStayClose() throws {
        let reference = try ModelLoader.load(directory: Self.directory, pool: Self.pool)
        let quantized = try ModelLoader.load(directory: Self.directory, pool: Self.pool, quantization: .q8_0)
        #expect(quantized.numWeightBytes < reference.numWeightBytes * 6 / 10)
        #expect(quantized.numParameters == reference.numParameters)
        let vocab = reference.config.vocabSize
        var worst: Float = 0
        var (sum, numRows): (Float, Int) = (0, 0)
        for prompt in try Self.prompts() {
            let a = SequenceRunner(model: reference, maxTokens: prompt.count).feed(prompt, allLogits: true)
            let b = SequenceRunner(model: quantized, maxTokens: prompt.count).feed(prompt, allLogits: true)
            for p in 0..<prompt.count {
                let error = relativeError(b[p * vocab..<(p + 1) * vocab], Array(a[p * vocab..<(p + 1) * vocab]))
                worst = max(worst, error)
                (sum, numRows) = (sum + error, numRows + 1)
            }
            #expect(a != b, "quantization changed nothing")
        }
        print("q8_0 relative logits error: worst \(worst), mean \(sum / Float(numRows)) over \(numRows) rows")
        #expect(worst < Self.maxRelativeError)
        #expect(sum / Float(numRows) < Self.meanRelativeError)
    }

    @Test("q8_0 weights pick the same greedy tokens wherever the float model's choice has a clear margin")
    func greedyTokensAgree() throws {
        let reference = try ModelLoader.load(directory: Self.directory, pool: Self.pool)
        let quantized = try ModelLoader.load(directory: Self.directory, pool: Self.pool, quantization: .q8_0)
        let vocab = reference.config.vocabSize
        var numChecked = 0
        var numSteps = 0
        for prompt in try Self.prompts() {
            let numNew = 12
            let a = SequenceRunner(model: reference, maxTokens: prompt.count + numNew)
            let b = SequenceRunner(model: quantized, maxTokens: prompt.count + numNew)
            var (la, lb) = (a.feed(prompt), b.feed(prompt))
            for _ in 0..<numNew {
                numSteps += 1
                let top = topK(la[0..<vocab], 2)
                let margin = la[top[0]] - la[top[1]]
                if margin > Self.clearMargin {
                    numChecked += 1
                    #expect(argmax(lb[0..<vocab]) == top[0], "margin \(margin)")
                }
                // Both continue with the float model's token (teacher forcing), so steps stay comparable.
                (la, lb) = (a.feed([top[0]]), b.feed([top[0]]))
            }
        }
        print("q8_0 greedy: \(numChecked) of \(numSteps) steps had a clear margin")
        #expect(numChecked * 2 >= numSteps, "too few steps with a clear margin to test anything")
    }

    @Test(
        "quantization leaves vectors, block-quantized tensors and rows that are not whole blocks unchanged",
        arguments: [WeightQuantization.q8_0, .q4_0])
    func onlyWholeBlockMatricesAreQuantized(mode: WeightQuantization) throws {
        let dtype = try #require(mode.dtype)
        let matrix = WeightTensor.owning((0..<64).map { Float($0) / 7 }, shape: [2, 32], dtype: .bf16)
        #expect(mode.apply(matrix).dtype == dtype)
        #expect(WeightQuantization.none.apply(matrix).dtype == .bf16)
        let ragged = WeightTensor.owning((0..<48).map { Float($0) }, shape: [2, 24])
        #expect(mode.apply(ragged).dtype == .f32)
        let vector = WeightTensor.owning((0..<32).map { Float($0) }, shape: [32])
        #expect(mode.apply(vector).dtype == .f32)
        for other in DType.blockQuantizedCases {
            let quantized = matrix.quantized(to: other)
            #expect(mode.apply(quantized).data == quantized.data, "\(other) stays as it is")
        }
    }

    static func prompts() throws -> [[Int]] {
        try ReferenceCase.load(directory.appendingPathComponent("reference.json")).map(\.inputIDs)
    }
}
