import Devices
import Engine
import Foundation
import Models
import Tokenizers

/// One `npu:` entry of `--devices` as the serving stack builds it.
struct NPUWorkerPlan {
    /// Worker name, e.g. "npu0".
    let name: String
    /// Chip profile name as given (looked up ignoring case).
    let profile: String
    /// Cards in tensor parallel.
    let numCards: Int
    /// Index of the group's first card (cards are numbered across workers).
    let firstCardIndex: Int
    /// Host kernel threads computing the real numbers.
    let numThreads: Int
}

/// Starting simulated NPU workers for the serving stack.
extension ServingStack {
    /// Loads the model with device numerics, uploads it to the plan's cards
    /// and starts its engine loop. The engine's KV blocks are the device's
    /// capacity (`--npu-memory-utilization` of the memory left after the
    /// weights), capped by the host mirror budget `hostEngineConfig.numBlocks`
    /// (the KV cache is also kept in host memory, in `--kv-cache-dtype`).
    static func startNPUWorker(
        _ plan: NPUWorkerPlan, catalog: ChipProfileCatalog, config: ServeConfig, directory: URL,
        modelConfig: ModelConfig, engineConfig hostEngineConfig: EngineConfig, tokenizer: any Tokenizer
    ) throws(CLIError) -> (loop: EngineLoop, group: NPUDeviceGroup, model: any CausalLM) {
        do {
            let profile = try catalog.profile(named: plan.profile)
            let dtype = NPUDType.deviceDType(checkpoint: modelConfig.torchDType, profile: profile)
            let expertParallel = config.enableExpertParallel && modelConfig.moe != nil && plan.numCards > 1
            let group = try NPUDeviceGroup(
                name: plan.name, profile: profile, shape: DecoderShape(modelConfig: modelConfig, dtype: dtype),
                tensorParallelSize: plan.numCards, expertParallelSize: expertParallel ? plan.numCards : 1,
                firstCardIndex: plan.firstCardIndex,
                npuMemoryUtilization: config.npuMemoryUtilization, pacing: config.npuPacing)
            var engineConfig = hostEngineConfig
            engineConfig.numBlocks = min(
                group.numKVBlocks(blockSize: engineConfig.blockSize), hostEngineConfig.numBlocks)
            try engineConfig.validate()
            let pool = NPUWorker.makeKernelPool(numThreads: plan.numThreads, dtype: dtype)
            let model = try ModelLoader.load(
                directory: directory, pool: pool, expertPlacement: group.expertPlacement,
                quantization: config.quantization)
            let worker = try NPUWorker(
                model: model, deviceGroup: group, numBlocks: engineConfig.numBlocks, blockSize: engineConfig.blockSize,
                kvCacheDType: config.kvCacheDType)
            let loop = try EngineLoop(config: engineConfig, worker: worker, tokenizer: tokenizer)
            return (loop, group, model)
        } catch {
            throw CLIError("cannot start worker \(plan.name) (npu:\(plan.profile)): \(error)")
        }
    }

    /// One snapshot per simulated NPU card (memory, busy and simulated seconds),
    /// for `/metrics` gauges labelled `device`.
    var deviceStats: [DeviceStats] { npuDeviceGroups.flatMap(\.deviceStats) }
}
