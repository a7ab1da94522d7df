import Foundation

/// Building a `DecoderShape` from a Hugging Face `config.json`, leniently.
extension DecoderShape {
    /// Parses a config.json dictionary. Required: hidden_size,
    /// num_hidden_layers, num_attention_heads, vocab_size, and
    /// intermediate_size unless the model is MoE. Optional with defaults:
    /// num_key_value_heads (= heads), head_dim (= hidden / heads),
    /// torch_dtype (bf16), tie_word_embeddings (false), MoE keys
    /// num_experts (or n_routed_experts / num_local_experts),
    /// num_experts_per_tok, moe_intermediate_size,
    /// shared_expert_intermediate_size (or n_shared_experts ×
    /// moe_intermediate_size), num_expert_groups (or n_group; for Pangu Pro
    /// MoE = num_experts_per_tok, else 1),
    /// first_k_dense_replace (0). Numbers may be JSON numbers or numeric
    /// strings; null counts as absent. A nested `text_config` is used when the
    /// top level has no hidden_size. A `quantization_config` whose
    /// quant_method mentions w8a8 selects int8 weights; `weightDType`
    /// overrides everything.
    public init(huggingFaceConfig config: [String: Any], weightDType: NPUDType? = nil) throws {
        if config["hidden_size"] == nil, let text = config["text_config"] as? [String: Any] {
            try self.init(huggingFaceConfig: text, weightDType: weightDType)
            return
        }
        let reader = HFConfigReader(config: config)
        let hidden = try reader.positive("hidden_size")
        let heads = try reader.positive("num_attention_heads")
        let moe = try Self.parseMoE(reader)
        let dtypeName = (config["torch_dtype"] as? String) ?? (config["dtype"] as? String) ?? "bfloat16"
        guard let activation = NPUDType(huggingFaceName: dtypeName) else {
            throw NPUError.invalidModelConfig(key: "torch_dtype", reason: "unknown dtype '\(dtypeName)'")
        }
        let quantMethod = ((config["quantization_config"] as? [String: Any])?["quant_method"] as? String) ?? ""
        let weights = weightDType ?? (quantMethod.lowercased().contains("w8a8") ? .int8 : activation)
        self.init(
            hiddenSize: hidden, numHiddenLayers: try reader.positive("num_hidden_layers"),
            numAttentionHeads: heads, numKeyValueHeads: try reader.optionalPositive("num_key_value_heads"),
            headDim: try reader.optionalPositive("head_dim"),
            intermediateSize: moe == nil
                ? try reader.positive("intermediate_size")
                : (try reader.optionalPositive("intermediate_size") ?? 0),
            vocabSize: try reader.positive("vocab_size"), weightDType: weights,
            activationDType: activation == .int8 ? .bf16 : activation,
            tieWordEmbeddings: reader.bool("tie_word_embeddings") ?? false, moe: moe)
        try validate()
    }

    /// Parses config.json bytes; see `init(huggingFaceConfig:weightDType:)`.
    public init(huggingFaceConfigJSON data: Data, weightDType: NPUDType? = nil) throws {
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: data)
        } catch {
            throw NPUError.invalidModelConfig(key: "config.json", reason: "not JSON: \(error.localizedDescription)")
        }
        guard let config = object as? [String: Any] else {
            throw NPUError.invalidModelConfig(key: "config.json", reason: "top level is not an object")
        }
        try self.init(huggingFaceConfig: config, weightDType: weightDType)
    }

    private static func parseMoE(_ reader: HFConfigReader) throws -> MoE? {
        guard
            let numExperts = try reader.optionalPositive("num_experts")
                ?? reader.optionalPositive("n_routed_experts") ?? reader.optionalPositive("num_local_experts")
        else { return nil }
        let expertSize = try reader.positive("moe_intermediate_size")
        let shared =
            try reader.optionalPositive("shared_expert_intermediate_size")
            ?? (reader.optionalPositive("n_shared_experts")).map { $0 * expertSize } ?? 0
        let numExpertsPerTok = try reader.positive("num_experts_per_tok")
        // Pangu Pro MoE (MoGE) has no group key: one expert per group, so groups = num_experts_per_tok.
        let modelType = (reader.config["model_type"] as? String) ?? ""
        let architectures = (reader.config["architectures"] as? [String]) ?? []
        let isMoGE = modelType == "PanguProMoE" || architectures.contains("PanguProMoEForCausalLM")
        let groups =
            try reader.optionalPositive("num_expert_groups") ?? reader.optionalPositive("n_group")
            ?? (isMoGE ? numExpertsPerTok : 1)
        return MoE(
            numExperts: numExperts, numExpertsPerTok: numExpertsPerTok,
            numExpertGroups: groups, moeIntermediateSize: expertSize, sharedExpertIntermediateSize: shared,
            numDenseLayers: try reader.optionalNonNegative("first_k_dense_replace") ?? 0)
    }
}

/// Lenient typed reads from a decoded JSON object.
struct HFConfigReader {
    let config: [String: Any]

    /// The integer at `key`: a JSON integer, an integral float, or a numeric
    /// string; nil when absent or null; throws when present but not a whole number.
    func optionalInt(_ key: String) throws -> Int? {
        guard let raw = config[key], !(raw is NSNull) else { return nil }
        if let number = raw as? NSNumber, String(cString: number.objCType) != "c" {  // "c": a JSON boolean
            let value = number.doubleValue
            if value.rounded() == value, abs(value) < 1e15 { return Int(value) }
        } else if let text = raw as? String {
            let trimmed = text.trimmingCharacters(in: .whitespaces)
            if let value = Int(trimmed) { return value }
            if let value = Double(trimmed), value.rounded() == value, abs(value) < 1e15 { return Int(value) }
        }
        throw NPUError.invalidModelConfig(key: key, reason: "expected a whole number, got \(raw)")
    }

    func optionalPositive(_ key: String) throws -> Int? {
        guard let value = try optionalInt(key) else { return nil }
        guard value > 0 else { throw NPUError.invalidModelConfig(key: key, reason: "must be positive, got \(value)") }
        return value
    }

    func optionalNonNegative(_ key: String) throws -> Int? {
        guard let value = try optionalInt(key) else { return nil }
        guard value >= 0 else { throw NPUError.invalidModelConfig(key: key, reason: "must be >= 0, got \(value)") }
        return value
    }

    func positive(_ key: String) throws -> Int {
        guard let value = try optionalPositive(key) else {
            throw NPUError.invalidModelConfig(key: key, reason: "missing")
        }
        return value
    }

    func bool(_ key: String) -> Bool? {
        if let value = config[key] as? Bool { return value }
        if let text = config[key] as? String { return ["true", "1"].contains(text.lowercased()) }
        return nil
    }
}
