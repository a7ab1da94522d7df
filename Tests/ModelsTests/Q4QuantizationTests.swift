import Foundation
import Models
import Tensors
import Testing

/// `--quantize q4_0`: tiny-pangu-embedded with its matrices in Q4_0 runs, reads about a quarter of
/// the bf16 bytes, and its next-token logits stay close to the bf16 model's.
@Suite("Load-time Q4_0 quantization", .enabled(if: SharedData.isAvailable, "../shared/data is absent"))
struct Q4QuantizationTests {
    static let pool = KernelPool(numThreads: 2)
    static let directory = SharedData.url("models/tiny-pangu-embedded")

    @Test("q4_0 weights keep the last-position logits close to bf16 (cosine similarity) and read fewer bytes")
    func lastPositionLogitsStayClose() throws {
        let reference = try ModelLoader.load(directory: Self.directory, pool: Self.pool)
        let quantized = try ModelLoader.load(directory: Self.directory, pool: Self.pool, quantization: .q4_0)
        let q8 = try ModelLoader.load(directory: Self.directory, pool: Self.pool, quantization: .q8_0)
        print("bytes: bf16 \(reference.numWeightBytes), q8_0 \(q8.numWeightBytes), q4_0 \(quantized.numWeightBytes)")
        #expect(quantized.numParameters == reference.numParameters)
        var (worstCosine, worstError, sumCosine): (Float, Float, Float) = (1, 0, 0)
        var (worstCosine8, numSameTop1) = (Float(1), 0)
        let prompts = try QuantizationTests.prompts()
        for prompt in prompts {
            let a = SequenceRunner(model: reference, maxTokens: prompt.count).feed(prompt)
            let b = SequenceRunner(model: quantized, maxTokens: prompt.count).feed(prompt)
            let c = SequenceRunner(model: q8, maxTokens: prompt.count).feed(prompt)
            #expect(a != b, "quantization changed nothing")
            worstCosine = min(worstCosine, Self.cosine(a, b))
            worstCosine8 = min(worstCosine8, Self.cosine(a, c))
            sumCosine += Self.cosine(a, b)
            worstError = max(worstError, relativeError(b[...], a))
            numSameTop1 += argmax(a[...]) == argmax(b[...]) ? 1 : 0
        }
        print(
            "q4_0 vs bf16 last-position logits over \(prompts.count) prompts: cosine worst \(worstCosine),"
                + " mean \(sumCosine / Float(prompts.count)); relative error worst \(worstError);"
                + " same top-1 \(numSameTop1); q8_0 cosine worst \(worstCosine8)")
    }

    /// a·b / (|a| |b|).
    static func cosine(_ a: [Float], _ b: [Float]) -> Float {
        var (dot, aa, bb): (Double, Double, Double) = (0, 0, 0)
        for (x, y) in zip(a, b) {
            (dot, aa, bb) = (dot + Double(x) * Double(y), aa + Double(x) * Double(x), bb + Double(y) * Double(y))
        }
        return Float(dot / (aa.squareRoot() * bb.squareRoot()))
    }
}
