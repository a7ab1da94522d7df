import Dispatch
import Engine
import Models
import Tensors

/// A device worker that behaves like a simulated Ascend NPU (one card or a
/// tensor-parallel group): the answers are real (the shared `ModelRunner`
/// computes them on the host with device numerics: bf16/fp16 matmul inputs
/// and outputs, f32 accumulation), while an `NPUDeviceGroup` holds the
/// cards' memory and advances their clock by the time each step would take
/// on the chip, optionally pacing the step to it.
///
/// Owned and called by one engine loop thread (see `Worker`). Keep a
/// reference to `deviceGroup` (Sendable) before handing the worker to its
/// loop to read `deviceStats` for metrics.
public final class NPUWorker: Worker {
    public let info: WorkerInfo
    /// The cards, their memory, clock and counters.
    public let deviceGroup: NPUDeviceGroup
    let runner: ModelRunner
    private var lastStepEnd: UInt64?

    /// `model` must compute on `pool`, and `pool.matmulRounding` should be
    /// the device type (`NPUWorker.makeKernelPool`). `numBlocks` must not
    /// exceed `deviceGroup.numKVBlocks(blockSize:)` (the host mirror of the
    /// cache may be smaller than the device's, never larger).
    public init(
        model: any CausalLM, deviceGroup: NPUDeviceGroup, numBlocks: Int, blockSize: Int, kvCacheDType: DType = .f32
    ) throws {
        let capacity = deviceGroup.numKVBlocks(blockSize: blockSize)
        guard numBlocks <= capacity else {
            throw NPUError.invalidArgument(
                name: "numBlocks", reason: "\(numBlocks) KV blocks requested, device memory holds \(capacity)")
        }
        let group = deviceGroup.tensorParallelSize > 1 ? "\(deviceGroup.tensorParallelSize)× " : ""
        info = WorkerInfo(
            name: deviceGroup.name,
            kind:
                "Ascend \(group)\(deviceGroup.profile.name) (simulated, \(deviceGroup.shape.activationDType.rawValue))")
        self.deviceGroup = deviceGroup
        runner = ModelRunner(model: model, numBlocks: numBlocks, blockSize: blockSize, kvCacheDType: kvCacheDType)
    }

    /// A kernel pool whose matmuls use `dtype`'s device numerics.
    public static func makeKernelPool(numThreads: Int, dtype: NPUDType) -> KernelPool {
        let pool = KernelPool(numThreads: numThreads)
        pool.matmulRounding = dtype.tensorDType
        return pool
    }

    public func execute(_ schedulerOutput: SchedulerOutput) throws -> ModelRunnerOutput {
        let start = DispatchTime.now().uptimeNanoseconds
        let idle = lastStepEnd.map { Double(start &- $0) / 1e9 } ?? 0
        let output = try runner.execute(schedulerOutput)
        deviceGroup.expertPlacement?.endStep()
        let batch = NPUBatch(chunks: runner.lastChunks)
        if batch.numTokens > 0 {
            try deviceGroup.runStep(batch, idleSeconds: idle, startedAt: start)
            let numSampled = output.sampledTokenIDs.values.reduce(0) { $0 + $1.count }
            deviceGroup.transfers.recordDeviceToHost(bytes: numSampled * MemoryLayout<Int32>.size)
        }
        lastStepEnd = DispatchTime.now().uptimeNanoseconds
        return output
    }
}

extension NPUDType {
    /// The host tensor type with the same rounding (nil for int8 and fp32).
    public var tensorDType: DType? {
        switch self {
        case .bf16: .bf16
        case .fp16: .f16
        case .fp32, .int8: nil
        }
    }
}
