import Devices
import Engine
import Foundation
import Models
import Tensors
import Tokenizers

/// The loaded model behind the API: tokenizer, workers, engine loops and the
/// client that routes requests to them. Built once at start-up.
struct ServingStack: Sendable {
    let modelName: String
    let modelDirectory: URL
    let modelConfig: ModelConfig
    /// Load-time quantization of the weights (`--quantize`).
    let quantization: WeightQuantization
    /// Type of the loaded projection matrices (the first layer's q_proj).
    let projectionDType: DType
    /// Element type of the workers' KV caches (`--kv-cache-dtype`).
    let kvCacheDType: DType
    /// Whether the CPU workers round activations to bf16 against bf16 weights (`--activations`).
    let bf16Activations: Bool
    let tokenizer: any Tokenizer
    let engine: EngineClient
    let engineConfig: EngineConfig
    let numParameters: Int
    let numWeightBytes: Int
    let workerNames: [String]
    /// The simulated NPU cards of the NPU workers (for `/metrics`: `deviceStats`).
    var npuDeviceGroups: [NPUDeviceGroup] = []

    /// Loads the model and starts one engine loop per worker of `config.devices`.
    static func build(config: ServeConfig, directory: URL) throws(CLIError) -> ServingStack {
        let tokenizer: any Tokenizer
        let modelConfig: ModelConfig
        do {
            modelConfig = try ModelDirectory.config(directory)
            tokenizer = try ModelDirectory.tokenizer(directory)
        } catch { throw CLIError("cannot load model from \(directory.path): \(error)") }
        let maxModelLen = min(
            config.maxModelLen ?? modelConfig.maxPositionEmbeddings, modelConfig.maxPositionEmbeddings)
        let bytesPerToken = modelConfig.kvBytesPerToken(bytesPerElement: config.kvCacheDType.byteSize)
        let kvBytes = config.kvCacheBytesPerWorker(bytesPerToken: bytesPerToken, maxModelLen: maxModelLen)
        var engineConfig = EngineConfig(
            numBlocks: EngineConfig.numBlocks(
                kvCacheBytes: kvBytes, bytesPerToken: bytesPerToken, blockSize: config.blockSize))
        engineConfig.blockSize = config.blockSize
        engineConfig.maxNumSeqs = config.maxNumSeqs
        engineConfig.maxNumBatchedTokens = max(config.maxNumBatchedTokens, config.maxNumSeqs)
        engineConfig.maxModelLen = maxModelLen
        engineConfig.enablePrefixCaching = config.enablePrefixCaching
        engineConfig.schedulingPolicy = config.schedulingPolicy
        engineConfig.maxNumWaitingRequests = config.maxNumWaitingRequests
        engineConfig.numSpeculativeTokens = config.numSpeculativeTokens
        engineConfig.promptLookupMin = config.promptLookupMin
        engineConfig.promptLookupMax = config.promptLookupMax
        engineConfig.speculativeDisableByBatchSize = config.speculativeDisableByBatchSize
        guard engineConfig.numBlocks >= 2 else {
            throw CLIError(
                "invalid value for --kv-cache-bytes: \(kvBytes) bytes per worker hold fewer than 2 blocks of \(config.blockSize) tokens (\(bytesPerToken) bytes per token)"
            )
        }
        do { try engineConfig.validate() } catch { throw CLIError("invalid engine configuration: \(error)") }

        let numWorkers = DeviceSpec.numWorkers(config.devices)
        let threadsPerWorker = max(1, config.threads / numWorkers)
        var loops: [EngineLoop] = []
        var model: (any CausalLM)?
        var npuDeviceGroups: [NPUDeviceGroup] = []
        let catalog =
            config.devices.contains { if case .npu = $0 { true } else { false } }
            ? try NPUProfileDirectory.catalog(config.npuProfilesDir) : ChipProfileCatalog()
        for (index, spec) in DeviceSpec.workers(config.devices).enumerated() {
            if case .npu(let profile, let numCards) = spec {
                let npu = try startNPUWorker(
                    NPUWorkerPlan(
                        name: "npu\(npuDeviceGroups.count)", profile: profile, numCards: numCards,
                        firstCardIndex: npuDeviceGroups.reduce(0) { $0 + $1.tensorParallelSize },
                        numThreads: threadsPerWorker),
                    catalog: catalog, config: config, directory: directory, modelConfig: modelConfig,
                    engineConfig: engineConfig, tokenizer: tokenizer)
                (model, loops) = (npu.model, loops + [npu.loop])
                npuDeviceGroups.append(npu.group)
                continue
            }
            do {
                let pool = KernelPool(numThreads: threadsPerWorker)
                pool.bf16Activations = config.bf16Activations
                let workerModel = try ModelLoader.load(
                    directory: directory, pool: pool, quantization: config.quantization)
                model = workerModel
                let worker = CPUWorker(
                    name: "cpu\(index)", model: workerModel, numBlocks: engineConfig.numBlocks,
                    blockSize: engineConfig.blockSize, kvCacheDType: config.kvCacheDType, numThreads: threadsPerWorker)
                loops.append(try EngineLoop(config: engineConfig, worker: worker, tokenizer: tokenizer))
            } catch { throw CLIError("cannot start worker cpu\(index): \(error)") }
        }
        guard let model else { throw CLIError("invalid value for --devices: no workers") }
        return ServingStack(
            modelName: config.servedModelName ?? ModelDirectory.defaultName(directory), modelDirectory: directory,
            modelConfig: modelConfig, quantization: config.quantization, projectionDType: model.projectionDType,
            kvCacheDType: config.kvCacheDType,
            bf16Activations: config.bf16Activations && model.projectionDType == .bf16,
            tokenizer: tokenizer, engine: EngineClient(loops: loops),
            engineConfig: engineConfig, numParameters: model.numParameters, numWeightBytes: model.numWeightBytes,
            workerNames: loops.map(\.workerInfo.name), npuDeviceGroups: npuDeviceGroups)
    }

    private var weightsDescription: String {
        Self.weightsDescription(
            torchDType: modelConfig.torchDType, quantization: quantization, projectionDType: projectionDType)
    }

    /// "bfloat16 weights", "bfloat16 weights as q4_0" (`--quantize`), or "Q4_0 weights" (a
    /// quantized GGUF file, whose config dtype describes the activations, not the weights).
    static func weightsDescription(
        torchDType: String, quantization: WeightQuantization, projectionDType: DType
    ) -> String {
        if quantization != .none { return "\(torchDType) weights as \(quantization.rawValue)" }
        if projectionDType.isBlockQuantized { return "\(projectionDType.fileType.rawValue) weights" }
        return "\(torchDType) weights"
    }

    /// The one start-up banner: version, model, parameters, dtype, devices, KV blocks, address.
    func banner(version: String, address: String) -> String {
        let kvTokens = engineConfig.numBlocks * engineConfig.blockSize
        let params =
            numParameters >= 1_000_000 ? String(format: "%.1fM", Double(numParameters) / 1e6) : "\(numParameters)"
        return """
            pangu-serve \(version)
              model      \(modelName) (\(modelConfig.architecture), \(params) parameters, \(weightsDescription), \(bf16Activations ? "bf16 activations" : "f32 compute"))
              devices    \(workerNames.joined(separator: ", "))
              kernels    \(MatMul.kernelISA)
              KV cache   \(engineConfig.numBlocks) blocks × \(engineConfig.blockSize) tokens per worker (\(kvTokens) tokens, \(kvCacheDType.rawValue.lowercased())), max model len \(engineConfig.effectiveMaxModelLen)
              listening  \(address)
            """
    }
}
