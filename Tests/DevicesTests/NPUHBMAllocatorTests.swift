import Testing

@testable import Devices

@Suite("NPU HBM allocator")
struct NPUHBMAllocatorTests {
    @Test("allocations count against the profile's capacity and free returns them")
    func allocateAndFree() throws {
        let profile = try NPUFixtures.catalog().profile(named: "910B2")
        let hbm = HBMAllocator(profile: profile, deviceIndex: 3)
        #expect(hbm.deviceName == "npu:3 (910B2)")
        #expect(hbm.capacityBytes == 68_719_476_736)  // 64 GiB
        let weights = try hbm.allocate("weights", bytes: 15 << 30)
        let workspace = try hbm.allocate("workspace", bytes: 1 << 30)
        #expect(hbm.usedBytes == 16 << 30)
        #expect(hbm.freeBytes == 48 << 30)
        #expect(hbm.allocations.map(\.name) == ["weights", "workspace"])
        try hbm.free(workspace)
        #expect(hbm.usedBytes == 15 << 30)
        #expect(throws: NPUError.unknownAllocation(name: "workspace", device: "npu:3 (910B2)")) {
            try hbm.free(workspace)
        }
        try hbm.free(weights)
        #expect(hbm.usedBytes == 0)
    }

    @Test("an allocation that does not fit throws outOfMemory with bytes and GiB")
    func outOfMemoryMessage() throws {
        let hbm = HBMAllocator(deviceName: "npu:0 (910B4)", capacityBytes: 32 << 30)
        _ = try hbm.allocate("weights", bytes: 30 << 30)
        // 40 GiB requested = 42,949,672,960 B; free = 2 GiB = 2,147,483,648 B.
        let error = #expect(throws: NPUError.self) { try hbm.allocate("kv_cache", bytes: 40 << 30) }
        #expect(error == .outOfMemory(requested: 42_949_672_960, available: 2_147_483_648, device: "npu:0 (910B4)"))
        #expect(
            error?.description
                == "npu:0 (910B4): out of device memory: requested 42949672960 bytes (40.00 GiB), "
                + "available 2147483648 bytes (2.00 GiB)")
        #expect(hbm.usedBytes == 30 << 30)  // the failed request changed nothing
    }

    @Test("the KV cache gets npuMemoryUtilization of what is left after weights")
    func kvCacheSize() throws {
        let hbm = HBMAllocator(deviceName: "npu:0", capacityBytes: 64 << 30)
        _ = try hbm.allocate("weights", bytes: 14_804_058_112)
        // free = 68,719,476,736 − 14,804,058,112 = 53,915,418,624; × 0.9 = 48,523,876,761.6 -> 48,523,876,761
        #expect(try hbm.kvCacheBytes() == 48_523_876_761)
        #expect(try hbm.kvCacheBytes(npuMemoryUtilization: 0.5) == 26_957_709_312)
        #expect(throws: NPUError.self) { try hbm.kvCacheBytes(npuMemoryUtilization: 1.2) }
        #expect(throws: NPUError.self) { try hbm.kvCacheBytes(npuMemoryUtilization: 0) }
    }

    @Test("openPangu-Embedded-7B bf16 on a 910B2 leaves room for 340,307 KV tokens")
    func pangu7BKVCapacity() throws {
        let hbm = HBMAllocator(profile: try NPUFixtures.catalog().profile(named: "910B2"), deviceIndex: 0)
        let shape = DecoderShape.openPanguEmbedded7B
        _ = try hbm.allocate("weights", bytes: shape.weightBytesPerRank())
        // free = 68,719,476,736 − 16,061,079,552 = 52,658,397,184; × 0.9 -> 47,392,557,465 bytes;
        // / 139,264 bytes per token = 340,307 tokens.
        let kvBytes = try hbm.kvCacheBytes()
        #expect(kvBytes == 47_392_557_465)
        #expect(kvBytes / shape.kvCacheBytesPerToken() == 340_307)
    }
}
