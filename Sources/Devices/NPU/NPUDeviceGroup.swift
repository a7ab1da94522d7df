import Foundation
import Models

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
    /// Cards the routed experts are spread across (1: no expert parallelism).
    public let expertParallelSize: Int
    /// Which card holds which expert, and the per-card expert load; set when
    /// the group runs a MoE model expert-parallel across its own cards
    /// (`expertParallelSize` == `tensorParallelSize` > 1). Build the model with it.
    public let expertPlacement: ExpertPlacement?
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
    /// `expertParallelSize` > 1 spreads a MoE model's routed experts across
    /// that many cards: the group's own cards (equal to `tensorParallelSize`),
    /// or, with `tensorParallelSize` 1, the data-parallel peers of this one
    /// card (the capacity planner's DP-attention layout).
    public init(
        name: String, profile: ChipProfile, shape: DecoderShape, tensorParallelSize: Int = 1,
        expertParallelSize: Int = 1,
        firstCardIndex: Int = 0, npuMemoryUtilization: Double = 0.9, pacing: NPUPacing = .none,
        sleep: @escaping @Sendable (Double) -> Void = NPUDeviceGroup.sleepWall
    ) throws {
        guard tensorParallelSize >= 1 else {
            throw NPUError.invalidArgument(name: "tensorParallelSize", reason: "must be >= 1")
        }
        self.name = name
        self.profile = profile
        self.shape = shape
        guard expertParallelSize == 1 || tensorParallelSize == 1 || expertParallelSize == tensorParallelSize else {
            throw NPUError.invalidArgument(
                name: "expertParallelSize",
                reason: "must be 1, the group's \(tensorParallelSize) cards, or used with one card")
        }
        self.tensorParallelSize = tensorParallelSize
        self.expertParallelSize = expertParallelSize
        self.pacing = pacing
        self.sleep = sleep
        estimator = try DecoderStepEstimator(
            shape: shape, costModel: NPUCostModel(profile: profile), tensorParallelSize: tensorParallelSize,
            expertParallelSize: expertParallelSize)
        if let moe = shape.moe, expertParallelSize > 1, expertParallelSize == tensorParallelSize,
            ExpertPlacement.canPlace(numGroups: moe.numExpertGroups, numCards: expertParallelSize)
        {
            expertPlacement = ExpertPlacement(
                numExperts: moe.numExperts, numGroups: moe.numExpertGroups, numCards: expertParallelSize)
        } else {
            expertPlacement = nil
        }
        let indices = firstCardIndex..<(firstCardIndex + tensorParallelSize)
        memories = indices.map { HBMAllocator(profile: profile, deviceIndex: $0) }
        cardNames = indices.map { "npu:\($0)" }
        let weightBytes = shape.weightBytesPerRank(
            tensorParallelSize: tensorParallelSize, expertParallelSize: expertParallelSize)
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
        profile: ChipProfile, shape: DecoderShape, tensorParallelSize: Int = 1, expertParallelSize: Int = 1,
        npuMemoryUtilization: Double = 0.9, blockSize: Int
    ) throws -> Int {
        let weightBytes = shape.weightBytesPerRank(
            tensorParallelSize: tensorParallelSize, expertParallelSize: expertParallelSize)
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
        let load = expertPlacement?.loadSnapshot
        return zip(cardNames, memories).enumerated().map { index, pair in
            let (card, memory) = pair
            var stats = DeviceStats(
                name: card, profile: profile.name, workerName: name, memoryUsedBytes: memory.usedBytes,
                memoryTotalBytes: memory.capacityBytes, busySeconds: reading.busySeconds,
                simulatedSeconds: reading.simulatedSeconds, numSteps: reading.numSteps,
                hostToDeviceBytes: copies.hostToDeviceBytes / tensorParallelSize,
                deviceToHostBytes: copies.deviceToHostBytes)
            if let load {
                stats.expertLoad = DeviceStats.ExpertLoad(
                    numTokensTotal: load.numTokensTotal[index], numTokensLastStep: load.numTokensLastStep[index],
                    imbalanceRatio: load.imbalanceRatio, maxStepImbalanceRatio: load.maxImbalanceRatio)
            }
            return stats
        }
    }

    /// Blocks the calling thread for `seconds` of wall time.
    public static let sleepWall: @Sendable (Double) -> Void = { seconds in
        Thread.sleep(forTimeInterval: seconds)
    }
}
