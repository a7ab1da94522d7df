import Foundation
import Tensors
import Weights

/// Loading llama.cpp GGUF files (architectures `llama` and `pangu-embedded`, llama.cpp's
/// name for openPangu-Embedded; `pangu-embed`, what our converter wrote before, is an alias): the
/// metadata becomes a `ModelConfig`, the tensors are renamed to checkpoint
/// names, and the same `DecoderModel` runs them.
///
/// llama.cpp's converter permutes the rows of q/k weights (and biases) of the
/// `llama` architecture so that RoPE rotates adjacent pairs; our rotary rotates
/// halves (as the Hugging Face checkpoints do), so those rows are put back at
/// load. `pangu-embedded` files are written unpermuted (its converter does not
/// permute; llama.cpp runs it with half-rotation RoPE) and load as they are.
///
/// RoPE: Llama 3.1-style scaling arrives as `rope_freqs.weight` (headDim/2 f32
/// factors; llama.cpp's ggml rope divides frequency i by factor i) and becomes
/// `ModelConfig.ropeFreqFactors`. `<arch>.rope.scaling.type` other than none
/// (or linear with factor 1) and partial rotation are refused, not ignored.
extension ModelLoader {
    /// GGUF architectures this build can serve, with the checkpoint architecture each maps to.
    public static let supportedGGUFArchitectures = [
        "llama": "LlamaForCausalLM", "pangu-embedded": "PanguEmbeddedForCausalLM",
        "pangu-embed": "PanguEmbeddedForCausalLM",
    ]

    /// Loads a `.gguf` file: config from its metadata, weights memory-mapped (q/k of `llama` un-permuted).
    public static func load(
        gguf url: URL, pool: KernelPool, quantization: WeightQuantization = .none
    ) throws(ModelsError) -> any CausalLM {
        let file: GGUFFile
        do { file = try GGUFFile(path: url.path) } catch { throw .weights(error) }
        let config = try modelConfig(gguf: file)
        let checkpoint = try checkpoint(gguf: file, config: config, url: url)
        return try load(config: config, checkpoint: checkpoint, pool: pool, quantization: quantization)
    }

    /// The `ModelConfig` a GGUF file's `<arch>.*` metadata describes.
    public static func modelConfig(gguf file: GGUFFile) throws(ModelsError) -> ModelConfig {
        let arch = file.string("general.architecture") ?? ""
        guard let architecture = supportedGGUFArchitectures[arch] else {
            throw .unsupportedArchitecture(
                "GGUF \(arch.isEmpty ? "(none)" : arch)", supported: supportedGGUFArchitectures.keys.sorted())
        }
        var json: [String: Any] = ["architectures": [architecture], "model_type": arch]
        let keys = [
            "hidden_size": "embedding_length", "num_hidden_layers": "block_count",
            "intermediate_size": "feed_forward_length", "num_attention_heads": "attention.head_count",
            "num_key_value_heads": "attention.head_count_kv", "max_position_embeddings": "context_length",
            "head_dim": "attention.key_length",
        ]
        for (key, ggufKey) in keys { json[key] = file.int("\(arch).\(ggufKey)") }
        json["rms_norm_eps"] = file.double("\(arch).attention.layer_norm_rms_epsilon")
        json["rope_theta"] = file.double("\(arch).rope.freq_base")
        json["vocab_size"] =
            file.int("\(arch).vocab_size") ?? file.arrayCount("tokenizer.ggml.tokens")
            ?? file.tensor(named: "token_embd.weight")?.shape.first
        json["tie_word_embeddings"] = !file.contains("output.weight")
        json["bias"] = file.contains("blk.0.attn_q.bias")
        json["bos_token_id"] = file.int("tokenizer.ggml.bos_token_id")
        json["eos_token_id"] = file.int("tokenizer.ggml.eos_token_id")
        // Hugging Face names, as config.json has them (block-quantized files report the type of their float tensors: f32).
        let dtypeNames: [DType: String] = [
            .f32: "float32", .f16: "float16", .bf16: "bfloat16", .q8_0: "float32", .q4_0: "float32",
            .q4_K: "float32", .q6_K: "float32",
        ]
        json["torch_dtype"] = file.tensor(named: "blk.0.attn_q.weight").flatMap { dtypeNames[$0.dtype] }
        var config = try ModelConfig(json: json.compactMapValues { $0 }, file: file.path)
        try checkRopeMetadata(gguf: file, arch: arch, headDim: config.headDim)
        config.ropeFreqFactors = try ropeFreqFactors(gguf: file, headDim: config.headDim)
        return config
    }

    /// Name of llama.cpp's per-frequency RoPE factor tensor (`LLM_TENSOR_ROPE_FREQS`).
    static let ropeFreqsTensorName = "rope_freqs.weight"

    /// The `rope_freqs.weight` factors (headDim/2 positive values), or nil when the file has none.
    static func ropeFreqFactors(gguf file: GGUFFile, headDim: Int) throws(ModelsError) -> [Float]? {
        guard let tensor = file.tensor(named: ropeFreqsTensorName) else { return nil }
        guard tensor.numElements == headDim / 2, tensor.shape.count == 1 else {
            throw .invalidConfig(
                file: file.path,
                detail: "tensor \(ropeFreqsTensorName) has shape \(tensor.shape), "
                    + "but head_dim \(headDim) needs [\(headDim / 2)] (one factor per rotary frequency)")
        }
        let factors = tensor.toFloats()
        guard factors.allSatisfy({ $0.isFinite && $0 > 0 }) else {
            throw .invalidConfig(
                file: file.path, detail: "tensor \(ropeFreqsTensorName) holds a factor that is not a positive number")
        }
        return factors
    }

    /// Refuses RoPE metadata this build would otherwise silently ignore: a rotary width other than
    /// head_dim, and any `rope.scaling.type` but none or linear with factor 1 (llama.cpp's default
    /// type is linear, its factor `rope.scaling.factor` or the older `rope.scale_linear`).
    static func checkRopeMetadata(gguf file: GGUFFile, arch: String, headDim: Int) throws(ModelsError) {
        if let numRotary = file.int("\(arch).rope.dimension_count"), numRotary != headDim {
            throw .invalidConfig(
                file: file.path,
                detail: "\(arch).rope.dimension_count \(numRotary) differs from head_dim \(headDim) "
                    + "(partial rotary embedding is not supported)")
        }
        let typeKey = "\(arch).rope.scaling.type"
        let scalingType = file.string(typeKey) ?? "linear"
        let factor = file.double("\(arch).rope.scaling.factor") ?? file.double("\(arch).rope.scale_linear") ?? 0
        switch scalingType {
        case "none": return
        case "linear" where factor == 0 || factor == 1: return
        case "linear":
            throw .invalidConfig(
                file: file.path,
                detail: "linear RoPE scaling (factor \(factor)) is not supported; supported: \(typeKey) none, "
                    + "or Llama 3 scaling through \(ropeFreqsTensorName)")
        default:
            throw .invalidConfig(
                file: file.path,
                detail: "\(typeKey) \"\(scalingType)\" is not supported; supported: none, "
                    + "or Llama 3 scaling through \(ropeFreqsTensorName)")
        }
    }

    /// llama.cpp tensor names → checkpoint names (per block `blk.N.` → `model.layers.N.`).
    static let ggufTensorNames: [String: String] = [
        "attn_norm.weight": "input_layernorm.weight", "ffn_norm.weight": "post_attention_layernorm.weight",
        "attn_q.weight": "self_attn.q_proj.weight", "attn_q.bias": "self_attn.q_proj.bias",
        "attn_k.weight": "self_attn.k_proj.weight", "attn_k.bias": "self_attn.k_proj.bias",
        "attn_v.weight": "self_attn.v_proj.weight", "attn_v.bias": "self_attn.v_proj.bias",
        "attn_output.weight": "self_attn.o_proj.weight", "attn_output.bias": "self_attn.o_proj.bias",
        "ffn_gate.weight": "mlp.gate_proj.weight", "ffn_up.weight": "mlp.up_proj.weight",
        "ffn_down.weight": "mlp.down_proj.weight",
    ]

    static func checkpoint(gguf file: GGUFFile, config c: ModelConfig, url: URL) throws(ModelsError) -> Checkpoint {
        let unpermute = file.string("general.architecture") == "llama"
        var tensors: [String: WeightTensor] = [:]
        for name in file.tensorNames {
            guard var tensor = file.tensor(named: name) else { continue }
            let target: String
            switch name {
            case "token_embd.weight": target = "model.embed_tokens.weight"
            case "output_norm.weight": target = "model.norm.weight"
            case "output.weight": target = "lm_head.weight"
            default:
                let parts = name.split(separator: ".", maxSplits: 2).map(String.init)
                guard parts.count == 3, parts[0] == "blk", let layer = Int(parts[1]),
                    let suffix = ggufTensorNames[parts[2]]
                else { continue }  // e.g. rope_freqs.weight: read into the config by `ropeFreqFactors`
                target = "model.layers.\(layer).\(suffix)"
                if unpermute, parts[2].hasPrefix("attn_q.") || parts[2].hasPrefix("attn_k.") {
                    let numHeads = parts[2].hasPrefix("attn_q.") ? c.numAttentionHeads : c.numKeyValueHeads
                    tensor = try unpermutedRows(tensor, numHeads: numHeads, name: name, file: file.path)
                }
            }
            tensors[target] = tensor
        }
        return Checkpoint(tensors: tensors, origin: url)
    }

    /// Undoes llama.cpp's q/k row permutation: within each head, GGUF row 2·i + j
    /// holds checkpoint row j·(headDim/2) + i (j ∈ {0, 1}). Vectors (biases) become f32.
    static func unpermutedRows(
        _ tensor: WeightTensor, numHeads: Int, name: String, file: String
    ) throws(ModelsError) -> WeightTensor {
        let source =
            tensor.shape.count == 1 ? WeightTensor.owning(tensor.toFloats(), shape: [tensor.numElements, 1]) : tensor
        let numRows = source.rows
        guard numHeads > 0, numRows % (2 * numHeads) == 0 else {
            throw .invalidConfig(file: file, detail: "\(name): \(numRows) rows do not split into \(numHeads) heads")
        }
        let headDim = numRows / numHeads
        let rowBytes = source.dtype.byteCount(numElements: source.cols)
        let storage = HeapStorage(byteCount: numRows * rowBytes, zeroed: false)
        for head in 0..<numHeads {
            for j in 0..<2 {
                for i in 0..<headDim / 2 {
                    let from = head * headDim + 2 * i + j
                    let to = head * headDim + j * headDim / 2 + i
                    (storage.pointer + to * rowBytes).copyMemory(
                        from: source.data + from * rowBytes, byteCount: rowBytes)
                }
            }
        }
        return WeightTensor(
            dtype: source.dtype, shape: tensor.shape, data: UnsafeRawPointer(storage.pointer), owner: storage)
    }
}
