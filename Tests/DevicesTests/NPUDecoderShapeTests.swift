import Foundation
import Testing

@testable import Devices

@Suite("Decoder shape from Hugging Face configs")
struct NPUDecoderShapeTests {
    static let sharedModels = NPUFixtures.packageRoot.appendingPathComponent("../shared/data/models").standardized
    static var hasSharedData: Bool { FileManager.default.fileExists(atPath: sharedModels.path) }

    @Test("an openPangu-Embedded-7B style config parses, with defaults and lenient numbers")
    func parsesDenseConfig() throws {
        let config: [String: Any] = [
            "hidden_size": 4096, "num_hidden_layers": "34", "num_attention_heads": 32.0,
            "num_key_value_heads": 8, "head_dim": NSNull(), "intermediate_size": 12800, "vocab_size": 153_376,
            "torch_dtype": "bfloat16", "bias": true,
        ]
        let shape = try DecoderShape(huggingFaceConfig: config)
        #expect(shape == .openPanguEmbedded7B)
        #expect(shape.headDim == 128)  // 4096 / 32, since head_dim is null
        // KV per token: 34 layers × 2 × 8 heads × 128 × 2 bytes = 139,264.
        #expect(shape.kvCacheBytesPerToken() == 139_264)
        #expect(shape.kvCacheBytesPerToken(tensorParallelSize: 2) == 69_632)
        // Weights: 7,402,029,056 linear + lm_head params × 2 = 14,804,058,112; embedding 153,376 × 4096 × 2
        // = 1,256,456,192; norms (2 × 34 + 1) × 4096 × 2 = 565,248. Total 16,061,079,552.
        #expect(shape.weightBytesPerRank() == 16_061_079_552)
    }

    @Test("MoE keys, quantization and a nested text_config are understood")
    func parsesMoEAndVariants() throws {
        let moe: [String: Any] = [
            "text_config": [
                "hidden_size": 5120, "num_hidden_layers": 48, "num_attention_heads": 40,
                "num_key_value_heads": 8, "vocab_size": 153_376, "moe_intermediate_size": 1344,
                "shared_expert_intermediate_size": 1344, "num_experts": 64, "num_experts_per_tok": 8,
                "num_expert_groups": 8, "torch_dtype": "float16",
                "quantization_config": ["quant_method": "W8A8"],
            ] as [String: Any]
        ]
        let shape = try DecoderShape(huggingFaceConfig: moe)
        #expect(
            shape.moe
                == .init(
                    numExperts: 64, numExpertsPerTok: 8, numExpertGroups: 8, moeIntermediateSize: 1344,
                    sharedExpertIntermediateSize: 1344))
        #expect(shape.intermediateSize == 0)
        #expect(shape.weightDType == .int8 && shape.activationDType == .fp16)
        #expect(try DecoderShape(huggingFaceConfig: moe, weightDType: .fp16).weightDType == .fp16)
    }

    @Test("a missing or malformed key is reported by name")
    func reportsBadKeys() throws {
        var config: [String: Any] = [
            "hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4, "vocab_size": 100,
        ]
        #expect(throws: NPUError.invalidModelConfig(key: "intermediate_size", reason: "missing")) {
            try DecoderShape(huggingFaceConfig: config)
        }
        config["intermediate_size"] = 1.5
        #expect(throws: NPUError.self) { try DecoderShape(huggingFaceConfig: config) }
        config["intermediate_size"] = 128
        config["torch_dtype"] = "float8"
        let error = #expect(throws: NPUError.self) { try DecoderShape(huggingFaceConfig: config) }
        #expect(error?.description == "invalid model config 'torch_dtype': unknown dtype 'float8'")
        #expect(throws: NPUError.self) { try DecoderShape(huggingFaceConfigJSON: Data("[1]".utf8)) }
    }

    @Test("the tiny shared Pangu checkpoints' config.json files parse", .enabled(if: hasSharedData))
    func parsesSharedConfigs() throws {
        let dense = try DecoderShape(
            huggingFaceConfigJSON: Data(
                contentsOf: Self.sharedModels.appendingPathComponent("tiny-pangu-embedded/config.json")))
        #expect(dense.hiddenSize == 64 && dense.numHiddenLayers == 3 && dense.numKeyValueHeads == 2)
        #expect(dense.headDim == 16 && dense.intermediateSize == 176 && dense.moe == nil)
        let moe = try DecoderShape(
            huggingFaceConfigJSON: Data(
                contentsOf: Self.sharedModels.appendingPathComponent("tiny-pangu-moe/config.json")))
        #expect(moe.moe?.numExperts == 16 && moe.moe?.numExpertsPerTok == 4)
        #expect(moe.moe?.moeIntermediateSize == 32 && moe.moe?.sharedExpertIntermediateSize == 128)
        let estimator = try DecoderStepEstimator(shape: moe, costModel: NPUFixtures.costModel())
        #expect(try estimator.stepSeconds(NPUBatch(numPrefillTokens: 5, decodeContextLengths: [9])) > 0)
    }
}
