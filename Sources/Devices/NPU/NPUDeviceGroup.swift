import Foundation

/// The simulated Ascend cards behind one NPU worker: one card, or a
/// tensor-parallel group of N cards that runs one model instance. Owns each
/// card's device memory (weights uploaded at start, then the KV cache), the
/// step estimator, the shared device clock and copy counters, and paces
/// steps to the chip's time when asked.
///
/// The cards of a group run in lock step (same kernels on a 1/N shard), so
/// one clock serves them all; memory is per card. Thread-safe (`Sendable`):
/// the worker's loop thread runs steps, the composition and metrics read
/// `deviceStats` from anywhere. Invariant: weights and KV cache fit every
/// card, else `init` throws `NPUError.outOfMemory`.
public final class NPUDeviceGroup: Sendable {
    /// Worker name, e.g. "npu0".
    public let name: String
    public let profile: ChipProfile
    public let shape: DecoderShape
    public let tensorParallelSize: Int
    public let estimator: DecoderStepEstimator
    /// One allocator per card, named "npu:<index> (<profile>)".
    public let memories: [HBMAllocator]
    /// Card names, e.g. ["npu:0", "npu:1"].
    public let cardNames: [String]
    public let clock = NPUDeviceClock()
    public let transfers = NPUTransferCounters()
    public let pacing: NPUPacing
    /// KV cache bytes reserved on each card.
    public let kvCacheBytesPerCard: Int
    private let sleep: @Sendable (Double) -> Void

    /// Uploads the weight shard to each of `tensorParallelSize` cards (cards
    /// `firstCardIndex ..< firstCardIndex + tensorParallelSize`) and reserves
    /// `npuMemoryUtilization` (0, 1] of what is left for the KV cache.
    /// `sleep` (seconds) is used by realtime pacing; tests inject their own.
    public init(
        name: String, profile: ChipProfile, shape: DecoderShape, tensorParallelSize: Int = 1,
        firstCardIndex: Int = 0, npuMemoryUtilization: Double = 0.9, pacing: NPUPacing = .none,
        sleep: @escaping @Sendable (Double) -> Void = NPUDeviceGroup.sleepWall
    ) throws {
        guard tensorParallelSize >= 1 else {
            throw NPUError.invalidArgument(name: "tensorParallelSize", reason: "must be >= 1")
        }
        self.name = name
        self.profile = profile
        self.shape = shape
        self.tensorParallelSize = tensorParallelSize
        self.pacing = pacing
        self.sleep = sleep
        estimator = try DecoderStepEstimator(
            shape: shape, costModel: NPUCostModel(profile: profile), tensorParallelSize: tensorParallelSize)
        let indices = firstCardIndex..<(firstCardIndex + tensorParallelSize)
        memories = indices.map { HBMAllocator(profile: profile, deviceIndex: $0) }
        cardNames = indices.map { "npu:\($0)" }
        let weightBytes = shape.weightBytesPerRank(tensorParallelSize: tensorParallelSize)
        for memory in memories {
            _ = try memory.allocate("weights", bytes: weightBytes)
            transfers.recordHostToDevice(bytes: weightBytes)
        }
        let kvBytes = try HBMAllocator.kvCacheBytes(
            freeBytes: profile.hbmBytes - weightBytes, npuMemoryUtilization: npuMemoryUtilization)
        for memory in memories { _ = try memory.allocate("kv_cache", bytes: kvBytes) }
        kvCacheBytesPerCard = kvBytes
    }

    /// KV blocks of `blockSize` tokens the group holds (each card holds its
    /// share of the KV heads of every block).
    public func numKVBlocks(blockSize: Int) -> Int {
        kvCacheBytesPerCard / (shape.kvCacheBytesPerToken(tensorParallelSize: tensorParallelSize) * blockSize)
    }

    /// KV blocks a group would hold, without building it (the composition
    /// sizes `EngineConfig.numBlocks` with this); throws `outOfMemory` when
    /// the weights do not fit.
    public static func numKVBlocks(
        profile: ChipProfile, shape: DecoderShape, tensorParallelSize: Int = 1, npuMemoryUtilization: Double = 0.9,
        blockSize: Int
    ) throws -> Int {
        let weightBytes = shape.weightBytesPerRank(tensorParallelSize: tensorParallelSize)
        guard weightBytes <= profile.hbmBytes else {
            throw NPUError.outOfMemory(
                requested: weightBytes, available: profile.hbmBytes, device: "npu (\(profile.name))")
        }
        let kvBytes = try HBMAllocator.kvCacheBytes(
            freeBytes: profile.hbmBytes - weightBytes, npuMemoryUtilization: npuMemoryUtilization)
        return kvBytes / (shape.kvCacheBytesPerToken(tensorParallelSize: tensorParallelSize) * blockSize)
    }

    /// Times `batch`, commits it to the clock (after `idleSeconds` of idle
    /// time), and with realtime pacing sleeps until the step has lasted its
    /// simulated time since `startedAt` (`DispatchTime` uptime, ns).
    @discardableResult
    public func runStep(_ batch: NPUBatch, idleSeconds: Double = 0, startedAt: UInt64? = nil) throws
        -> NPUStepLedger
    {
        let ledger = try estimator.estimate(batch)
        if idleSeconds > 0 { clock.advanceIdle(seconds: idleSeconds) }
        clock.commit(ledger)
        if pacing == .realtime {
            let start = startedAt ?? DispatchTime.now().uptimeNanoseconds
            let elapsed = Double(DispatchTime.now().uptimeNanoseconds &- start) / 1e9
            let remaining = ledger.stepSeconds - elapsed
            if remaining > 0 { sleep(remaining) }
        }
        return ledger
    }

    /// One snapshot per card.
    public var deviceStats: [DeviceStats] {
        let reading = clock.reading
        let copies = transfers.reading
        return zip(cardNames, memories).map { card, memory in
            DeviceStats(
                name: card, profile: profile.name, workerName: name, memoryUsedBytes: memory.usedBytes,
                memoryTotalBytes: memory.capacityBytes, busySeconds: reading.busySeconds,
                simulatedSeconds: reading.simulatedSeconds, numSteps: reading.numSteps,
                hostToDeviceBytes: copies.hostToDeviceBytes / tensorParallelSize,
                deviceToHostBytes: copies.deviceToHostBytes)
        }
    }

    /// Blocks the calling thread for `seconds` of wall time.
    public static let sleepWall: @Sendable (Double) -> Void = { seconds in
        Thread.sleep(forTimeInterval: seconds)
    }
}
