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
    /// Bounds on the cosine similarity of the last-position logits to bf16's, in the worst prompt and
    /// on average. Measured on this random checkpoint (6 prompts): worst 0.955, mean 0.962, and a
    /// worst max-relative error of 0.38 (Q8_0: cosine 0.9998). An independent float64 NumPy forward
    /// (within 2e-6 of reference.json) with the matrices Q4_0-rounded by Tools/convert-to-gguf.py gives
    /// the same figures to 4 digits: the error is the format's (Q4_0's step, max|x|/8 per block, is
    /// 16 times Q8_0's), not the kernels'; a wrong nibble order or scale drops the cosine far below.
    static let minCosine: Float = 0.94
    static let minMeanCosine: Float = 0.95

    @Test("q4_0 weights keep the last-position logits close to bf16 (cosine > 0.94) and read < 30% of the bytes")
    func lastPositionLogitsStayClose() throws {
        let reference = try ModelLoader.load(directory: Self.directory, pool: Self.pool)
        let quantized = try ModelLoader.load(directory: Self.directory, pool: Self.pool, quantization: .q4_0)
        #expect(quantized.numWeightBytes < reference.numWeightBytes * 3 / 10)
        #expect(quantized.numParameters == reference.numParameters)
        var (worstCosine, sumCosine, worstError): (Float, Float, Float) = (1, 0, 0)
        var numSameTop1 = 0
        let prompts = try QuantizationTests.prompts()
        for prompt in prompts {
            let a = SequenceRunner(model: reference, maxTokens: prompt.count).feed(prompt)
            let b = SequenceRunner(model: quantized, maxTokens: prompt.count).feed(prompt)
            #expect(a != b, "quantization changed nothing")
            let cosine = Self.cosine(a, b)
            (worstCosine, sumCosine) = (min(worstCosine, cosine), sumCosine + cosine)
            worstError = max(worstError, relativeError(b[...], a))
            numSameTop1 += argmax(a[...]) == argmax(b[...]) ? 1 : 0
        }
        let meanCosine = sumCosine / Float(prompts.count)
        print(
            "q4_0 vs bf16 last-position logits over \(prompts.count) prompts: cosine worst \(worstCosine),"
                + " mean \(meanCosine); relative error worst \(worstError); same top-1 in \(numSameTop1);"
                + " weight bytes \(quantized.numWeightBytes) of \(reference.numWeightBytes)")
        #expect(worstCosine > Self.minCosine)
        #expect(meanCosine > Self.minMeanCosine)
    }

    /// a·b / (|a| |b|), accumulated in Double.
    static func cosine(_ a: [Float], _ b: [Float]) -> Float {
        var (dot, aa, bb): (Double, Double, Double) = (0, 0, 0)
        for (x, y) in zip(a, b) {
            dot += Double(x) * Double(y)
            aa += Double(x) * Double(x)
            bb += Double(y) * Double(y)
        }
        return Float(dot / (aa.squareRoot() * bb.squareRoot()))
    }
}
