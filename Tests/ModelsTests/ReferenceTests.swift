import Foundation
import Models
import Tensors
import Testing

/// The inference core against logits computed by an independent implementation (transformers, f32).
@Suite("Reference checkpoints", .enabled(if: SharedData.isAvailable, "../shared/data is absent"))
struct ReferenceTests {
    static let pool = KernelPool(numThreads: 2)

    static func check(model directory: String) throws {
        try check(directory: SharedData.url("models/\(directory)"))
    }

    static func check(directory dir: URL) throws {
        let model = try ModelLoader.load(directory: dir, pool: pool)
        let vocab = model.config.vocabSize
        for ref in try ReferenceCase.load(dir.appendingPathComponent("reference.json")) {
            let runner = SequenceRunner(model: model, maxTokens: ref.inputIDs.count + ref.greedyIDs.count)
            let logits = runner.feed(ref.inputIDs, allLogits: true)
            let last = logits[(ref.inputIDs.count - 1) * vocab..<ref.inputIDs.count * vocab]
            #expect(relativeError(last, ref.lastLogits) < 1e-3, "\(ref.name): last-position logits")
            for (p, expected) in (ref.top10PerPosition ?? []).enumerated() {
                let top = topK(logits[p * vocab..<(p + 1) * vocab], 10)
                // Near-ties (within 1e-4) may swap order; compare as sets of clearly separated ids.
                let refLogits = ref.top10LogitsPerPosition?[p] ?? []
                let tenth = refLogits.last ?? -.infinity
                let clear = expected.enumerated().filter { refLogits.isEmpty || refLogits[$0.offset] - tenth > 1e-4 }
                for (_, id) in clear { #expect(top.contains(id), "\(ref.name): top-10 at position \(p)") }
            }
            var greedy: [Int] = []
            var next = argmax(last)
            for _ in 0..<ref.greedyIDs.count {
                greedy.append(next)
                let l = runner.feed([next])
                next = argmax(l[0..<vocab])
            }
            #expect(greedy == ref.greedyIDs, "\(ref.name): greedy continuation")
        }
    }

    @Test("tiny-pangu-embedded reproduces the reference logits, top-10 ids and greedy tokens")
    func panguEmbedded() throws { try Self.check(model: "tiny-pangu-embedded") }

    @Test("tiny-pangu-moe (Mixture of Grouped Experts) reproduces the reference")
    func panguMoE() throws { try Self.check(model: "tiny-pangu-moe") }
}

/// The embedded demo model against the logits PyTorch computed when it was trained (Tools/train-demo-model).
@Test("the embedded pangu-tiny-shakespeare reproduces its PyTorch reference")
func demoModelMatchesPyTorch() throws {
    let directory = SharedData.packageRoot.appendingPathComponent("Sources/PanguServe/Resources/pangu-tiny-shakespeare")
    try ReferenceTests.check(directory: directory)
}
