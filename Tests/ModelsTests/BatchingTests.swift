import Foundation
import Models
import Tensors
import Testing
import Weights

/// Batched and incremental forward passes agree with single full passes.
@Suite("Batching and KV cache", .enabled(if: SharedData.isAvailable, "../shared/data is absent"))
struct BatchingTests {
    static let pool = KernelPool(numThreads: 2)
    static let directory = SharedData.url("models/tiny-pangu-embedded")

    static func prompts() throws -> [[Int]] {
        try ReferenceCase.load(directory.appendingPathComponent("reference.json")).map(\.inputIDs)
    }

    @Test("a batch of prompts of different lengths gives each prompt's logits alone, over scattered blocks")
    func batchEqualsSingles() throws {
        let model = try ModelLoader.load(directory: Self.directory, pool: Self.pool)
        let prompts = try Self.prompts()
        let vocab = model.config.vocabSize
        let blockSize = 4
        let cache = PagedKVCache(config: model.config, numBlocks: 200, blockSize: blockSize)
        var batch = ForwardBatch()
        var nextBlock = 199
        for prompt in prompts {
            // Hand out blocks from the top down so sequences interleave non-contiguously.
            let numBlocks = (prompt.count + blockSize - 1) / blockSize
            let table = (0..<numBlocks).map { _ in
                defer { nextBlock -= 1 }
                return nextBlock
            }
            batch.append(tokens: prompt, startPosition: 0, blockTable: table, blockSize: blockSize)
        }
        let batched = model.forward(batch, cache: cache)
        for (i, prompt) in prompts.enumerated() {
            let alone = SequenceRunner(model: model, maxTokens: prompt.count).feed(prompt)
            let row = batched[i * vocab..<(i + 1) * vocab]
            #expect(relativeError(row, alone) < 1e-5, "prompt \(i)")
        }
    }

    @Test("prefill of the whole prompt equals prefill of part then token-by-token decode")
    func prefillThenDecode() throws {
        let model = try ModelLoader.load(directory: Self.directory, pool: Self.pool)
        let vocab = model.config.vocabSize
        let prompt = try #require(try Self.prompts().max { $0.count < $1.count }).prefix(60).map { $0 }
        let whole = SequenceRunner(model: model, maxTokens: prompt.count).feed(prompt, allLogits: true)
        let split = SequenceRunner(model: model, maxTokens: prompt.count)
        let first = split.feed(Array(prompt.prefix(23)), allLogits: true)
        #expect(relativeError(first[...], Array(whole[0..<23 * vocab])) < 1e-5)
        for p in 23..<prompt.count {
            let step = split.feed([prompt[p]])
            #expect(relativeError(step[...], Array(whole[p * vocab..<(p + 1) * vocab])) < 1e-5, "position \(p)")
        }
    }

    @Test(
        "a 16-bit KV cache gives the f32 cache's logits to within its rounding, prefill and decode",
        arguments: [DType.f16, .bf16])
    func sixteenBitCache(dtype: DType) throws {
        let model = try ModelLoader.load(directory: Self.directory, pool: Self.pool)
        let prompt = try #require(try Self.prompts().max { $0.count < $1.count }).prefix(40).map { $0 }
        let exact = SequenceRunner(model: model, maxTokens: prompt.count)
        let rounded = SequenceRunner(model: model, maxTokens: prompt.count, cacheDType: dtype)
        #expect(rounded.cache.byteCount * 2 == exact.cache.byteCount)
        let head = Array(prompt.prefix(20))
        var worst = relativeError(rounded.feed(head, allLogits: true)[...], exact.feed(head, allLogits: true))
        for token in prompt.dropFirst(20) {
            worst = max(worst, relativeError(rounded.feed([token])[...], exact.feed([token])))
        }
        // Measured: f16 3.6e-4, bf16 2.2e-3 (8 and 5 fewer mantissa bits than f32 hold K and V).
        #expect(worst > 0, "a 16-bit cache rounds")
        #expect(worst < (dtype == .f16 ? 2e-3 : 1e-2), "\(dtype): \(worst)")
    }

    @Test("a shape that disagrees with config.json names the file and tensor")
    func shapeDisagreesWithConfig() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("pangu-shape-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let weights = Self.directory.appendingPathComponent("model.safetensors")
        try FileManager.default.createSymbolicLink(
            at: dir.appendingPathComponent("model.safetensors"), withDestinationURL: weights)
        var config = try #require(
            try JSONSerialization.jsonObject(
                with: Data(contentsOf: Self.directory.appendingPathComponent("config.json")))
                as? [String: Any])
        config["intermediate_size"] = 100
        try JSONSerialization.data(withJSONObject: config).write(to: dir.appendingPathComponent("config.json"))
        #expect {
            try ModelLoader.load(directory: dir, pool: Self.pool)
        } throws: { error in
            guard case ModelsError.weights(.shapeMismatch(let file, let tensor, let expected, let actual)) = error
            else {
                return false
            }
            return file.hasSuffix("model.safetensors") && tensor == "model.layers.0.mlp.gate_proj.weight"
                && expected == [100, 64] && actual == [176, 64]
        }
    }

    @Test("an unknown architecture is refused with the list of supported ones")
    func unknownArchitecture() throws {
        var json: [String: Any] = [
            "architectures": ["GPT2LMHeadModel"], "hidden_size": 8, "num_hidden_layers": 1,
            "num_attention_heads": 2, "vocab_size": 10,
        ]
        let config = try ModelConfig(json: json)
        json["hidden_size"] = nil
        #expect {
            try ModelLoader.load(config: config, checkpoint: Checkpoint(directory: Self.directory), pool: Self.pool)
        } throws: { error in
            "\(error)".contains("GPT2LMHeadModel") && "\(error)".contains("PanguEmbeddedForCausalLM")
        }
        #expect(throws: ModelsError.self) { try ModelConfig(json: json) }
    }

    @Test("rope_scaling: llama3 is parsed, default and null mean none, any other type is refused by name")
    func ropeScalingTypes() throws {
        func config(_ scaling: Any?) throws(ModelsError) -> ModelConfig {
            var json: [String: Any] = [
                "architectures": ["LlamaForCausalLM"], "hidden_size": 8, "num_hidden_layers": 1,
                "num_attention_heads": 2, "vocab_size": 10,
            ]
            json["rope_scaling"] = scaling
            return try ModelConfig(json: json)
        }
        let llama3 = try config(["rope_type": "llama3", "factor": 32.0, "original_max_position_embeddings": 8192])
        #expect(llama3.ropeScaling?.factor == 32)
        #expect(try config(["rope_type": "default"]).ropeScaling == nil)
        #expect(try config(nil).ropeScaling == nil)
        for type in ["yarn", "linear", "dynamic", "longrope"] {
            #expect {
                try config(["type": type, "factor": 4.0])
            } throws: { error in
                "\(error)".contains("rope_scaling type '\(type)'") && "\(error)".contains("config.json")
            }
        }
    }
}
