import Foundation
import Synchronization
import Testing

@testable import Devices

/// The cards behind an NPU worker: device memory at start, pacing, tensor parallelism.
@Suite("NPU device group")
struct NPUDeviceGroupTests {
    static let shape = DecoderShape.openPanguEmbedded7B

    @Test("uploads the weights, reserves 0.9 of the rest for the KV cache and counts the copy")
    func memoryAccounting() throws {
        let profile = try NPUFixtures.catalog().profile(named: "910B2")
        let group = try NPUDeviceGroup(name: "npu0", profile: profile, shape: Self.shape)
        let weights = Self.shape.weightBytesPerRank()
        #expect(weights == 16_061_079_552)
        let kv = Int((Double(profile.hbmBytes - weights) * 0.9).rounded(.down))
        #expect(group.kvCacheBytesPerCard == kv)
        #expect(group.memories[0].allocations.map(\.name) == ["weights", "kv_cache"])
        #expect(group.memories[0].usedBytes == weights + kv)
        #expect(group.transfers.reading.hostToDeviceBytes == weights)
        #expect(group.transfers.reading.numHostToDeviceCopies == 1)
        // 139,264 bytes of KV per token; 340,307 tokens = 21,269 blocks of 16.
        #expect(group.numKVBlocks(blockSize: 16) == kv / (139_264 * 16))
        #expect(
            try NPUDeviceGroup.numKVBlocks(profile: profile, shape: Self.shape, blockSize: 16)
                == group.numKVBlocks(blockSize: 16))
        let stats = group.deviceStats
        #expect(stats.count == 1 && stats[0].name == "npu:0" && stats[0].memoryUsedBytes == weights + kv)
        #expect(stats[0].memoryTotalBytes == profile.hbmBytes && stats[0].profile == "910B2")
    }

    @Test("a model larger than device memory fails at start with bytes needed and available")
    func outOfMemory() throws {
        let profile = try NPUFixtures.catalog().profile(named: "310P3")
        var shape = Self.shape
        shape.numHiddenLayers = 80
        shape.weightDType = .fp16
        shape.activationDType = .fp16
        let needed = shape.weightBytesPerRank()
        #expect(throws: NPUError.outOfMemory(requested: needed, available: profile.hbmBytes, device: "npu:0 (310P3)")) {
            _ = try NPUDeviceGroup(name: "npu0", profile: profile, shape: shape)
        }
        #expect(throws: NPUError.self) {
            _ = try NPUDeviceGroup.numKVBlocks(profile: profile, shape: shape, blockSize: 16)
        }
        // Split over 4 cards the shard fits.
        let group = try NPUDeviceGroup(name: "npu0", profile: profile, shape: shape, tensorParallelSize: 4)
        #expect(
            group.memories.allSatisfy { $0.allocations[0].bytes == shape.weightBytesPerRank(tensorParallelSize: 4) })
    }

    @Test("pacing none only reports; realtime sleeps the rest of the simulated step")
    func pacing() throws {
        let profile = try NPUFixtures.catalog().profile(named: "910B2")
        let sleeps = Mutex<[Double]>([])
        let record: @Sendable (Double) -> Void = { seconds in sleeps.withLock { $0.append(seconds) } }
        let batch = NPUBatch.decode(numSeqs: 4, contextLength: 512)

        let reporting = try NPUDeviceGroup(name: "npu0", profile: profile, shape: Self.shape, sleep: record)
        let ledger = try reporting.runStep(batch, idleSeconds: 0.5)
        #expect(sleeps.withLock { $0.isEmpty })
        let reading = reporting.clock.reading
        #expect(reading.busySeconds == ledger.stepSeconds && reading.numSteps == 1)
        #expect(abs(reading.simulatedSeconds - (0.5 + ledger.stepSeconds)) < 1e-12)
        #expect(reading.utilization < 1)

        let paced = try NPUDeviceGroup(
            name: "npu1", profile: profile, shape: Self.shape, pacing: .realtime, sleep: record)
        // A step that started "now" has taken (almost) no wall time: the pacer sleeps nearly all of it.
        try paced.runStep(batch, startedAt: DispatchTime.now().uptimeNanoseconds)
        let slept = sleeps.withLock { $0 }
        #expect(slept.count == 1)
        #expect(slept[0] <= ledger.stepSeconds && slept[0] > ledger.stepSeconds * 0.5)
        #expect(paced.clock.reading.busySeconds == ledger.stepSeconds)
        // A step whose host compute already took longer than the chip does not sleep.
        try paced.runStep(batch, startedAt: DispatchTime.now().uptimeNanoseconds - 10_000_000_000)
        #expect(sleeps.withLock { $0.count } == 1)
    }

    @Test("a tensor-parallel group of 4 takes longer than a quarter of one card because of its all-reduces")
    func tensorParallelGroup() throws {
        let profile = try NPUFixtures.catalog().profile(named: "910B2")
        let single = try NPUDeviceGroup(name: "npu0", profile: profile, shape: Self.shape)
        let group = try NPUDeviceGroup(name: "npu1", profile: profile, shape: Self.shape, tensorParallelSize: 4)
        #expect(group.cardNames == ["npu:0", "npu:1", "npu:2", "npu:3"])
        let weightsPerCard = Self.shape.weightBytesPerRank(tensorParallelSize: 4)
        #expect(weightsPerCard < Self.shape.weightBytesPerRank() / 3)
        for memory in group.memories {
            #expect(memory.usedBytes == weightsPerCard + group.kvCacheBytesPerCard)
        }
        for batch in [NPUBatch(numPrefillTokens: 2048), NPUBatch.decode(numSeqs: 16, contextLength: 2048)] {
            let one = try single.runStep(batch)
            let four = try group.runStep(batch)
            let collectives = four.totals(.collective)
            // Two all-reduces per layer, one after the embedding, plus the logits all-gather.
            #expect(collectives.numOps == 2 * Self.shape.numHiddenLayers + 2)
            #expect(collectives.seconds > 0)
            #expect(four.stepSeconds > one.stepSeconds / 4)
            #expect(four.stepSeconds - collectives.seconds < one.stepSeconds)
        }
        #expect(group.deviceStats.count == 4)
    }
}
