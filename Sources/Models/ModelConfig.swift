import Foundation

/// A checkpoint's `config.json`, decoded into the fields the forward pass
/// needs; names follow the Hugging Face keys (`hidden_size` → `hiddenSize`).
public struct ModelConfig: Sendable, Equatable {
    public var architecture: String
    public var modelType: String
    public var hiddenSize: Int
    public var intermediateSize: Int
    public var numHiddenLayers: Int
    public var numAttentionHeads: Int
    public var numKeyValueHeads: Int
    public var headDim: Int
    public var rmsNormEps: Float
    public var ropeTheta: Double
    public var ropeScaling: RopeScaling?
    /// Divisors of the rotary inverse frequencies, one per rotary pair (headDim/2 values): llama.cpp's
    /// `rope_freqs.weight`, which carries Llama 3 scaling in GGUF files. When set it replaces `ropeScaling`.
    public var ropeFreqFactors: [Float]? = nil
    public var vocabSize: Int
    public var maxPositionEmbeddings: Int
    public var tieWordEmbeddings: Bool
    /// Biases on q/k/v/o (`bias` in openPangu configs, `attention_bias` in Llama ones).
    public var attentionBias: Bool
    public var bosTokenID: Int?
    public var eosTokenIDs: [Int]
    /// `torch_dtype` of the checkpoint, e.g. "bfloat16".
    public var torchDType: String
    /// Mixture of experts (Pangu Pro MoE); nil for dense models.
    public var moe: MoEConfig?

    /// Llama 3 style frequency-dependent RoPE rescaling (`rope_scaling.rope_type == "llama3"`).
    public struct RopeScaling: Sendable, Equatable {
        public var factor: Double
        public var lowFreqFactor: Double
        public var highFreqFactor: Double
        public var originalMaxPositionEmbeddings: Double
    }

    /// Mixture-of-Grouped-Experts shape.
    public struct MoEConfig: Sendable, Equatable {
        public var numExperts: Int
        public var numExpertsPerTok: Int
        public var moeIntermediateSize: Int
        public var sharedExpertIntermediateSize: Int
    }

    /// Reads `config.json` from a model directory.
    public static func load(directory: URL) throws(ModelsError) -> ModelConfig {
        let file = directory.appendingPathComponent("config.json")
        guard let data = try? Data(contentsOf: file) else {
            throw .cannotReadConfig(file: file.path, reason: "no such file or unreadable")
        }
        guard let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw .cannotReadConfig(file: file.path, reason: "not a JSON object")
        }
        return try ModelConfig(json: object, file: file.path)
    }

    /// Builds a config from a decoded `config.json` object; `file` names it in errors.
    public init(json: [String: Any], file: String = "config.json") throws(ModelsError) {
        func int(_ key: String) throws(ModelsError) -> Int {
            guard let value = (json[key] as? NSNumber)?.intValue else {
                throw .missingConfigKey(file: file, key: key)
            }
            return value
        }
        architecture = (json["architectures"] as? [String])?.first ?? ""
        modelType = json["model_type"] as? String ?? ""
        hiddenSize = try int("hidden_size")
        intermediateSize = (json["intermediate_size"] as? NSNumber)?.intValue ?? 0
        numHiddenLayers = try int("num_hidden_layers")
        numAttentionHeads = try int("num_attention_heads")
        numKeyValueHeads = (json["num_key_value_heads"] as? NSNumber)?.intValue ?? numAttentionHeads
        headDim = (json["head_dim"] as? NSNumber)?.intValue ?? hiddenSize / max(numAttentionHeads, 1)
        rmsNormEps = (json["rms_norm_eps"] as? NSNumber)?.floatValue ?? 1e-6
        ropeTheta = (json["rope_theta"] as? NSNumber)?.doubleValue ?? 10000
        vocabSize = try int("vocab_size")
        maxPositionEmbeddings = (json["max_position_embeddings"] as? NSNumber)?.intValue ?? 2048
        tieWordEmbeddings = json["tie_word_embeddings"] as? Bool ?? false
        // Pangu Pro MoE configs carry no bias key, but its q/k/v/o projections have biases.
        attentionBias =
            (json["bias"] as? Bool) ?? (json["attention_bias"] as? Bool) ?? architecture.hasPrefix("PanguProMoE")
        bosTokenID = (json["bos_token_id"] as? NSNumber)?.intValue
        if let list = json["eos_token_id"] as? [NSNumber] {
            eosTokenIDs = list.map(\.intValue)
        } else {
            eosTokenIDs = (json["eos_token_id"] as? NSNumber).map { [$0.intValue] } ?? []
        }
        torchDType = json["torch_dtype"] as? String ?? json["dtype"] as? String ?? "bfloat16"
        ropeScaling = try Self.parseRopeScaling(json["rope_scaling"], file: file)
        if let numExperts = (json["num_experts"] as? NSNumber)?.intValue, numExperts > 0 {
            moe = MoEConfig(
                numExperts: numExperts,
                numExpertsPerTok: (json["num_experts_per_tok"] as? NSNumber)?.intValue ?? 1,
                moeIntermediateSize: try int("moe_intermediate_size"),
                sharedExpertIntermediateSize: (json["shared_expert_intermediate_size"] as? NSNumber)?.intValue ?? 0)
        }
        try validate(file: file)
    }

    /// `rope_scaling`: absent, null or `default` means none; `llama3` is supported;
    /// any other type (linear, dynamic, yarn, longrope, ...) is refused rather than
    /// run with the wrong RoPE.
    private static func parseRopeScaling(_ value: Any?, file: String) throws(ModelsError) -> RopeScaling? {
        guard let dict = value as? [String: Any] else { return nil }
        let type = dict["rope_type"] as? String ?? dict["type"] as? String ?? "default"
        if type == "default" { return nil }
        guard type == "llama3" else {
            throw .invalidConfig(
                file: file, detail: "rope_scaling type '\(type)' is not supported (supported: llama3, default)")
        }
        func double(_ key: String, _ fallback: Double) -> Double { (dict[key] as? NSNumber)?.doubleValue ?? fallback }
        return RopeScaling(
            factor: double("factor", 8), lowFreqFactor: double("low_freq_factor", 1),
            highFreqFactor: double("high_freq_factor", 4),
            originalMaxPositionEmbeddings: double("original_max_position_embeddings", 8192))
    }

    private func validate(file: String) throws(ModelsError) {
        guard hiddenSize > 0, numHiddenLayers > 0, numAttentionHeads > 0, numKeyValueHeads > 0, vocabSize > 0 else {
            throw .invalidConfig(file: file, detail: "sizes must be positive")
        }
        guard numAttentionHeads % numKeyValueHeads == 0 else {
            throw .invalidConfig(
                file: file,
                detail:
                    "num_attention_heads \(numAttentionHeads) is not a multiple of num_key_value_heads \(numKeyValueHeads)"
            )
        }
        guard headDim % 2 == 0 else {
            throw .invalidConfig(file: file, detail: "head_dim \(headDim) must be even for RoPE")
        }
    }

    /// Width of one token's keys (or values) in one layer: numKeyValueHeads × headDim.
    public var kvDim: Int { numKeyValueHeads * headDim }
    /// Bytes of KV cache one token needs across all layers, at `bytesPerElement` (4 for f32).
    public func kvBytesPerToken(bytesPerElement: Int = 4) -> Int { 2 * numHiddenLayers * kvDim * bytesPerElement }
}
