import Foundation
import Models
import Tensors
import Testing
import Weights

/// Llama 3.1-style RoPE in GGUF files: llama.cpp's converter stores `rope_scaling` llama3 as
/// `rope_freqs.weight` (one divisor per rotary frequency), which must give the logits of the
/// safetensors model whose config.json has the `rope_scaling` block.
@Suite("GGUF rope_freqs", .enabled(if: SharedData.isAvailable, "../shared/data is absent"))
struct GGUFRopeFreqsTests {
    static let pool = KernelPool(numThreads: 2)
    static let directory = SharedData.url("models/tiny-pangu-embedded")
    /// With head_dim 16 and rope_theta 4e6 the 8 wavelengths are about 6, 42, 281, 1878, ...: two below
    /// 512/4 (factor 1), one between the bounds (smoothed), five above 512/1 (factor 8).
    static var ropeScaling: [String: Any] {
        [
            "rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
            "original_max_position_embeddings": 512,
        ]
    }

    /// The factors as llama.cpp's converter computes them (LlamaModel.generate_extra_tensors), in f32.
    static func llama3Factors(headDim: Int, theta: Double) -> [Float] {
        let factor: Float = 8
        let low: Float = 1
        let high: Float = 4
        let original: Float = 512
        return (0..<headDim / 2).map { i in
            let freq = 1 / Float(pow(theta, Double(2 * i) / Double(headDim)))
            let wavelen = 2 * Float.pi / freq
            if wavelen < original / high { return 1 }
            if wavelen > original / low { return factor }
            let smooth = (original / wavelen - low) / (high - low)
            return 1 / ((1 - smooth) / factor + smooth)
        }
    }

    /// tiny-pangu-embedded with `rope_scaling` llama3 in its config.json (weights linked, not copied).
    static func scaledDirectory() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tiny-llama3-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let data = try Data(contentsOf: directory.appendingPathComponent("config.json"))
        var config = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        config["rope_scaling"] = ropeScaling
        try JSONSerialization.data(withJSONObject: config).write(to: dir.appendingPathComponent("config.json"))
        try FileManager.default.createSymbolicLink(
            at: dir.appendingPathComponent("model.safetensors"),
            withDestinationURL: directory.appendingPathComponent("model.safetensors"))
        return dir
    }

    /// A llama GGUF of tiny-pangu-embedded with `factors` as rope_freqs.weight (none when nil).
    static func writeGGUF(factors: [Float]?) throws -> URL {
        try GGUFModelTests.write(arch: "llama") { w in
            if let factors { w.add("rope_freqs.weight", WeightTensor.owning(factors, shape: [factors.count])) }
        }
    }

    /// Max relative logits error of `gguf` against `reference` over the first reference prompts.
    static func maxError(_ gguf: any CausalLM, _ reference: any CausalLM) throws -> Float {
        let prompts = try ReferenceCase.load(directory.appendingPathComponent("reference.json")).map(\.inputIDs)
        var worst: Float = 0
        for prompt in prompts.prefix(4) {
            let a = SequenceRunner(model: reference, maxTokens: prompt.count).feed(prompt, allLogits: true)
            let b = SequenceRunner(model: gguf, maxTokens: prompt.count).feed(prompt, allLogits: true)
            worst = max(worst, relativeError(b[...], a))
        }
        return worst
    }

    @Test("the test's llama3 factors cover all three bands: 1, smoothed, and the full factor")
    func factorsCoverAllBands() throws {
        let c = try ModelConfig.load(directory: Self.directory)
        let factors = Self.llama3Factors(headDim: c.headDim, theta: c.ropeTheta)
        #expect(factors.count == 8)
        #expect(factors.prefix(2).allSatisfy { $0 == 1 } && factors.suffix(5).allSatisfy { $0 == 8 })
        #expect(factors[2] > 1 && factors[2] < 8)
    }

    @Test("a llama GGUF with rope_freqs gives the logits of the llama3-scaled safetensors model within 1e-5")
    func ropeFreqsMatchLlama3Scaling() throws {
        let dir = try Self.scaledDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let reference = try ModelLoader.load(directory: dir, pool: Self.pool)
        #expect(reference.config.ropeScaling != nil)
        let factors = Self.llama3Factors(headDim: reference.config.headDim, theta: reference.config.ropeTheta)
        let url = try Self.writeGGUF(factors: factors)
        defer { try? FileManager.default.removeItem(at: url) }
        let gguf = try ModelLoader.load(gguf: url, pool: Self.pool)
        #expect(gguf.config.ropeFreqFactors == factors)
        #expect(try Self.maxError(gguf, reference) < 1e-5)
    }

    @Test("without rope_freqs the GGUF runs unscaled RoPE, and its logits differ from the llama3-scaled model")
    func missingRopeFreqsChangesLogits() throws {
        let dir = try Self.scaledDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let reference = try ModelLoader.load(directory: dir, pool: Self.pool)
        let url = try Self.writeGGUF(factors: nil)
        defer { try? FileManager.default.removeItem(at: url) }
        let gguf = try ModelLoader.load(gguf: url, pool: Self.pool)
        #expect(gguf.config.ropeFreqFactors == nil)
        #expect(try Self.maxError(gguf, reference) > 1e-3)
    }

    @Test("a rope_freqs tensor of the wrong length is refused, naming the file and the tensor")
    func wrongLengthIsRefused() throws {
        let url = try Self.writeGGUF(factors: [Float](repeating: 1, count: 9))
        defer { try? FileManager.default.removeItem(at: url) }
        #expect {
            try ModelLoader.load(gguf: url, pool: Self.pool)
        } throws: { error in
            guard case ModelsError.invalidConfig(let file, let detail) = error else { return false }
            return file == url.path && detail.contains("rope_freqs.weight") && detail.contains("[8]")
        }
    }

    @Test("a rope_freqs factor that is zero is refused")
    func zeroFactorIsRefused() throws {
        let url = try Self.writeGGUF(factors: [1, 1, 0, 8, 8, 8, 8, 8])
        defer { try? FileManager.default.removeItem(at: url) }
        #expect(throws: ModelsError.self) { try ModelLoader.modelConfig(gguf: try GGUFFile(path: url.path)) }
    }

    @Test(
        "rope scaling metadata the model cannot honour is refused; none and linear with factor 1 load",
        arguments: [
            ("yarn", Float(4), false), ("longrope", Float(1), false), ("linear", Float(2), false),
            ("linear", Float(1), true), ("none", Float(4), true),
        ])
    func ropeScalingType(type: String, factor: Float, accepted: Bool) throws {
        let url = try GGUFModelTests.write(arch: "llama") { w in
            w.values += [("llama.rope.scaling.type", .string(type)), ("llama.rope.scaling.factor", .f32(factor))]
        }
        defer { try? FileManager.default.removeItem(at: url) }
        let file = try GGUFFile(path: url.path)
        if accepted {
            #expect(try ModelLoader.modelConfig(gguf: file).ropeFreqFactors == nil)
        } else {
            #expect {
                try ModelLoader.modelConfig(gguf: file)
            } throws: { error in
                guard case ModelsError.invalidConfig(let path, let detail) = error else { return false }
                return path == url.path && detail.contains(type)
            }
        }
    }

    @Test("a linear factor in the old rope.scale_linear key is refused too")
    func scaleLinearKeyIsRefused() throws {
        let url = try GGUFModelTests.write(arch: "llama") { w in w.values += [("llama.rope.scale_linear", .f32(4))] }
        defer { try? FileManager.default.removeItem(at: url) }
        #expect(throws: ModelsError.self) { try ModelLoader.modelConfig(gguf: try GGUFFile(path: url.path)) }
    }

    @Test("a rotary width other than head_dim (partial RoPE) is refused")
    func partialRotaryIsRefused() throws {
        let url = try GGUFModelTests.write(arch: "llama") { w in w.values += [("llama.rope.dimension_count", .u32(8))] }
        defer { try? FileManager.default.removeItem(at: url) }
        #expect(throws: ModelsError.self) { try ModelLoader.modelConfig(gguf: try GGUFFile(path: url.path)) }
    }
}
