import Foundation
import Tensors
import Weights

/// A decoder-only language model ready to run: what a worker calls each step.
///
/// `forward` computes the batch's new tokens over the paged KV cache (writing
/// their keys and values) and returns logits `[logitRows.count, vocabSize]`.
/// A model is used by one thread at a time (its worker's engine loop).
public protocol CausalLM: AnyObject, Sendable {
    var config: ModelConfig { get }
    /// Bytes of weights (what decode reads per step).
    var numWeightBytes: Int { get }
    /// Number of parameters.
    var numParameters: Int { get }
    /// Element type of the layers' projection matrices (the first layer's query
    /// projection): which kernels most of a forward pass runs.
    var projectionDType: DType { get }
    func forward(_ batch: ForwardBatch, cache: PagedKVCache) -> [Float]
}

/// Maps a checkpoint's `architectures[0]` to the code that runs it.
public enum ModelLoader {
    /// The architectures this build can serve.
    public static let supportedArchitectures = [
        "PanguEmbeddedForCausalLM", "LlamaForCausalLM", "PanguProMoEForCausalLM",
    ]

    /// Loads config.json and the safetensors weights of a model directory (or a `.gguf` file).
    /// `expertPlacement` applies to MoE models (expert parallelism) and is ignored by dense ones;
    /// `quantization` converts the projection matrices at load (see `WeightQuantization`).
    public static func load(
        directory: URL, pool: KernelPool, expertPlacement: ExpertPlacement? = nil,
        quantization: WeightQuantization = .none
    ) throws(ModelsError) -> any CausalLM {
        if directory.pathExtension.lowercased() == "gguf" {
            return try load(gguf: directory, pool: pool, quantization: quantization)
        }
        let config = try ModelConfig.load(directory: directory)
        let checkpoint: Checkpoint
        do { checkpoint = try Checkpoint(directory: directory) } catch { throw .weights(error) }
        return try load(
            config: config, checkpoint: checkpoint, pool: pool, expertPlacement: expertPlacement,
            quantization: quantization)
    }

    /// Builds the model for `config` from tensors of `checkpoint`.
    public static func load(
        config: ModelConfig, checkpoint: Checkpoint, pool: KernelPool, expertPlacement: ExpertPlacement? = nil,
        quantization: WeightQuantization = .none
    ) throws(ModelsError) -> any CausalLM {
        switch config.architecture {
        case "PanguEmbeddedForCausalLM", "LlamaForCausalLM", "PanguProMoEForCausalLM":
            return try DecoderModel(
                config: config, checkpoint: checkpoint, pool: pool,
                expertPlacement: config.moe == nil ? nil : expertPlacement, quantization: quantization)
        default:
            throw .unsupportedArchitecture(
                config.architecture.isEmpty ? "(none)" : config.architecture, supported: supportedArchitectures)
        }
    }
}
