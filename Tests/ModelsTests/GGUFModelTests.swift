import Foundation
import Models
import Tensors
import Testing
import Weights

/// GGUF models: tiny-pangu-embedded written as llama.cpp would (`llama` with permuted q/k rows,
/// or `pangu-embed` unpermuted) loads to the same logits as its safetensors.
@Suite("GGUF models", .enabled(if: SharedData.isAvailable, "../shared/data is absent"))
struct GGUFModelTests {
    static let pool = KernelPool(numThreads: 2)
    static let directory = SharedData.url("models/tiny-pangu-embedded")

    @Test("a llama GGUF with llama.cpp's q/k permutation gives the safetensors logits within 1e-5")
    func llamaMatchesSafetensors() throws { try check(arch: "llama") }

    @Test(
        "a pangu-embedded GGUF (llama.cpp's name; unpermuted) and its pangu-embed alias give the safetensors logits",
        arguments: ["pangu-embedded", "pangu-embed"])
    func panguEmbeddedMatchesSafetensors(arch: String) throws { try check(arch: arch) }

    @Test(
        "a GGUF with Q8_0 or Q4_0 matrices gives the logits of the safetensors model quantized at load",
        arguments: [WeightQuantization.q8_0, .q4_0])
    func quantizedMatchesQuantizeAtLoad(quantization: WeightQuantization) throws {
        let url = try Self.write(arch: "llama", quantization: quantization)
        defer { try? FileManager.default.removeItem(at: url) }
        let reference = try ModelLoader.load(directory: Self.directory, pool: Self.pool, quantization: quantization)
        let gguf = try ModelLoader.load(gguf: url, pool: Self.pool)
        let file = try GGUFFile(path: url.path)
        #expect(file.tensor(named: "blk.0.attn_q.weight")?.dtype == quantization.dtype)
        #expect(gguf.numWeightBytes == reference.numWeightBytes)
        let prompt = try #require(
            try ReferenceCase.load(Self.directory.appendingPathComponent("reference.json")).map(\.inputIDs).last)
        let a = SequenceRunner(model: reference, maxTokens: prompt.count).feed(prompt)
        let b = SequenceRunner(model: gguf, maxTokens: prompt.count).feed(prompt)
        #expect(relativeError(b[...], a) < 1e-5)
    }

    @Test("the GGUF metadata becomes the checkpoint's config")
    func configFromMetadata() throws {
        let url = try Self.write(arch: "llama")
        defer { try? FileManager.default.removeItem(at: url) }
        let config = try ModelLoader.modelConfig(gguf: try GGUFFile(path: url.path))
        let reference = try ModelConfig.load(directory: Self.directory)
        #expect(config.architecture == "LlamaForCausalLM")
        #expect(config.hiddenSize == reference.hiddenSize && config.intermediateSize == reference.intermediateSize)
        #expect(config.numAttentionHeads == reference.numAttentionHeads)
        #expect(config.numKeyValueHeads == reference.numKeyValueHeads && config.headDim == reference.headDim)
        #expect(config.vocabSize == reference.vocabSize && config.ropeTheta == reference.ropeTheta)
        #expect(config.attentionBias && !config.tieWordEmbeddings && config.eosTokenIDs == [2])
    }

    @Test("an unknown GGUF architecture is refused with the supported list")
    func unknownArchitecture() throws {
        var writer = GGUFTestWriter()
        writer.values = [("general.architecture", .string("gpt2"))]
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("gpt2-\(UUID().uuidString).gguf")
        try writer.data().write(to: url)
        defer { try? FileManager.default.removeItem(at: url) }
        #expect(throws: ModelsError.self) { try ModelLoader.load(gguf: url, pool: Self.pool) }
    }

    func check(arch: String) throws {
        let url = try Self.write(arch: arch)
        defer { try? FileManager.default.removeItem(at: url) }
        let reference = try ModelLoader.load(directory: Self.directory, pool: Self.pool)
        let gguf = try ModelLoader.load(directory: url, pool: Self.pool)
        #expect(gguf.config.architecture == ModelLoader.supportedGGUFArchitectures[arch])
        let prompts = try ReferenceCase.load(Self.directory.appendingPathComponent("reference.json")).map(\.inputIDs)
        for prompt in prompts.prefix(4) {
            let a = SequenceRunner(model: reference, maxTokens: prompt.count).feed(prompt, allLogits: true)
            let b = SequenceRunner(model: gguf, maxTokens: prompt.count).feed(prompt, allLogits: true)
            #expect(relativeError(b[...], a) < 1e-5, "prompt of \(prompt.count) tokens")
        }
    }

    /// Writes tiny-pangu-embedded as a GGUF of `arch`, bf16 tensors as they are in the safetensors
    /// (or with `quantization` applied to the matrices, as `--quantize` would); `edit` adds to it.
    static func write(
        arch: String, quantization: WeightQuantization = .none, edit: (inout GGUFTestWriter) -> Void = { _ in }
    ) throws -> URL {
        let c = try ModelConfig.load(directory: directory)
        let checkpoint = try Checkpoint(directory: directory)
        var w = GGUFTestWriter()
        w.values = [
            ("general.architecture", .string(arch)), ("general.alignment", .u32(32)),
            ("\(arch).embedding_length", .u32(UInt32(c.hiddenSize))),
            ("\(arch).block_count", .u32(UInt32(c.numHiddenLayers))),
            ("\(arch).feed_forward_length", .u32(UInt32(c.intermediateSize))),
            ("\(arch).attention.head_count", .u32(UInt32(c.numAttentionHeads))),
            ("\(arch).attention.head_count_kv", .u32(UInt32(c.numKeyValueHeads))),
            ("\(arch).attention.layer_norm_rms_epsilon", .f32(c.rmsNormEps)),
            ("\(arch).rope.freq_base", .f32(Float(c.ropeTheta))),
            ("\(arch).context_length", .u32(UInt32(c.maxPositionEmbeddings))),
            ("\(arch).vocab_size", .u32(UInt32(c.vocabSize))),
            ("tokenizer.ggml.bos_token_id", .u32(1)), ("tokenizer.ggml.eos_token_id", .u32(2)),
        ]
        let q = quantization
        w.add("token_embd.weight", q.quantize(try checkpoint.tensor("model.embed_tokens.weight")))
        w.add("output_norm.weight", try checkpoint.tensor("model.norm.weight"))
        w.add("output.weight", q.quantize(try checkpoint.tensor("lm_head.weight")))
        let names = [
            "attn_norm.weight": "input_layernorm.weight", "ffn_norm.weight": "post_attention_layernorm.weight",
            "attn_q.weight": "self_attn.q_proj.weight", "attn_q.bias": "self_attn.q_proj.bias",
            "attn_k.weight": "self_attn.k_proj.weight", "attn_k.bias": "self_attn.k_proj.bias",
            "attn_v.weight": "self_attn.v_proj.weight", "attn_v.bias": "self_attn.v_proj.bias",
            "attn_output.weight": "self_attn.o_proj.weight", "attn_output.bias": "self_attn.o_proj.bias",
            "ffn_gate.weight": "mlp.gate_proj.weight", "ffn_up.weight": "mlp.up_proj.weight",
            "ffn_down.weight": "mlp.down_proj.weight",
        ]
        for layer in 0..<c.numHiddenLayers {
            for (gguf, hf) in names.sorted(by: { $0.key < $1.key }) {
                let tensor = q.quantize(try checkpoint.tensor("model.layers.\(layer).\(hf)"))
                var bytes: [UInt8]? = nil
                if arch == "llama", gguf.hasPrefix("attn_q.") || gguf.hasPrefix("attn_k.") {
                    bytes = permuted(
                        tensor, numHeads: gguf.hasPrefix("attn_q.") ? c.numAttentionHeads : c.numKeyValueHeads)
                }
                w.add("blk.\(layer).\(gguf)", tensor, bytes: bytes)
            }
        }
        edit(&w)
        let url = FileManager.default.temporaryDirectory.appendingPathComponent(
            "tiny-\(arch)-\(UUID().uuidString).gguf")
        try w.data().write(to: url)
        return url
    }

    /// llama.cpp's converter permutation: within each head, checkpoint row j·(headDim/2) + i goes to row 2·i + j.
    static func permuted(_ tensor: WeightTensor, numHeads: Int) -> [UInt8] {
        let numRows = tensor.shape[0]
        let rowBytes = tensor.byteCount / numRows
        let headDim = numRows / numHeads
        let source = Array(UnsafeRawBufferPointer(start: tensor.data, count: tensor.byteCount))
        var out = [UInt8](repeating: 0, count: source.count)
        for head in 0..<numHeads {
            for j in 0..<2 {
                for i in 0..<headDim / 2 {
                    let from = head * headDim + j * headDim / 2 + i
                    let to = head * headDim + 2 * i + j
                    out[to * rowBytes..<(to + 1) * rowBytes] = source[from * rowBytes..<(from + 1) * rowBytes]
                }
            }
        }
        return out
    }
}

/// The GGUF reader's checks on malformed files.
@Suite("GGUF file reader")
struct GGUFFileTests {
    static func write(_ data: Data) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("bad-\(UUID().uuidString).gguf")
        try data.write(to: url)
        return url
    }

    @Test("a file without the GGUF magic is a corrupt header naming the file")
    func badMagic() throws {
        let url = try Self.write(Data("GGML and then some bytes".utf8))
        defer { try? FileManager.default.removeItem(at: url) }
        #expect(throws: WeightsError.corruptHeader(file: url.path, detail: "no GGUF magic")) {
            try GGUFFile(path: url.path)
        }
    }

    @Test("a header cut short and a tensor past the end are reported as truncated")
    func truncated() throws {
        var writer = GGUFTestWriter()
        writer.values = [("general.architecture", .string("llama"))]
        writer.add("t", WeightTensor.owning((0..<64).map(Float.init), shape: [2, 32]))
        let full = writer.data()
        for cut in [full.prefix(30), full.prefix(full.count - 8)] {
            let url = try Self.write(Data(cut))
            defer { try? FileManager.default.removeItem(at: url) }
            #expect {
                try GGUFFile(path: url.path)
            } throws: { error in
                if case WeightsError.truncated = error { return true }
                return false
            }
        }
        let url = try Self.write(full)
        defer { try? FileManager.default.removeItem(at: url) }
        let file = try GGUFFile(path: url.path)
        let tensor = try #require(file.tensor(named: "t"))
        #expect(tensor.shape == [2, 32] && tensor.dtype == .f32 && tensor.element(63) == 63)
        #expect(file.string("general.architecture") == "llama")
    }

    @Test("an unsupported tensor type names the tensor")
    func unsupportedType() throws {
        var writer = GGUFTestWriter()
        writer.tensors = [("q4_1", [1, 32], 3, [UInt8](repeating: 0, count: 20))]  // GGML Q4_1
        let url = try Self.write(writer.data())
        defer { try? FileManager.default.removeItem(at: url) }
        #expect(throws: WeightsError.unsupportedDType(file: url.path, tensor: "q4_1", dtype: "GGML type 3")) {
            try GGUFFile(path: url.path)
        }
    }

    @Test("a Q4_0 tensor (GGML type 2) is a memory-mapped view decoding d·(nibble - 8)")
    func q4_0Tensor() throws {
        // Two rows of one block each: d = 0.5 (f16 0x3800) and d = -2 (f16 0xC000); byte j holds
        // weight j (low nibble) and weight j + 16 (high nibble).
        var bytes: [UInt8] = [0x00, 0x38] + (0..<16).map { (j: Int) -> UInt8 in UInt8(j) | UInt8(15 - j) << 4 }
        bytes += [0x00, 0xC0] + [UInt8](repeating: 0x9F, count: 16)
        var writer = GGUFTestWriter()
        writer.tensors = [("f", [4], 0, [UInt8](repeating: 0, count: 16)), ("w", [2, 32], 2, bytes)]
        let url = try Self.write(writer.data())
        defer { try? FileManager.default.removeItem(at: url) }
        let file = try GGUFFile(path: url.path)
        let tensor = try #require(file.tensor(named: "w"))
        #expect(tensor.dtype == .q4_0 && tensor.shape == [2, 32] && tensor.byteCount == 36)
        #expect(Array(UnsafeRawBufferPointer(start: tensor.data, count: 36)) == bytes)
        let low: [Float] = (0..<16).map { (i: Int) -> Float in 0.5 * Float(i - 8) }
        let high: [Float] = (0..<16).map { (i: Int) -> Float in 0.5 * Float(7 - i) }
        let expected = low + high
        #expect(Array(tensor.toFloats()[0..<32]) == expected)
        #expect(tensor.element(32) == -2 * 7 && tensor.element(63) == -2 * 1)
    }

    @Test("a Q4_0 tensor cut short or with rows that are not whole blocks is refused")
    func q4_0BadSizes() throws {
        var short = GGUFTestWriter()
        short.tensors = [("w", [2, 32], 2, [UInt8](repeating: 0x88, count: 18))]
        let shortURL = try Self.write(short.data())
        defer { try? FileManager.default.removeItem(at: shortURL) }
        #expect(throws: WeightsError.truncated(file: shortURL.path, detail: "tensor w ends past the file")) {
            try GGUFFile(path: shortURL.path)
        }
        var ragged = GGUFTestWriter()
        ragged.tensors = [("w", [3, 16], 2, [UInt8](repeating: 0x88, count: 36))]
        let raggedURL = try Self.write(ragged.data())
        defer { try? FileManager.default.removeItem(at: raggedURL) }
        #expect {
            try GGUFFile(path: raggedURL.path)
        } throws: { error in
            guard case WeightsError.corruptHeader(_, let detail) = error else { return false }
            return detail.contains("not whole blocks of 32")
        }
    }
}
