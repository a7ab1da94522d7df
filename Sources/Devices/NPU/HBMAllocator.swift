import Synchronization

/// Book-keeping of one simulated card's device memory (HBM): named
/// allocations (weights, KV cache, workspace) against the profile's capacity,
/// so a model or cache that would not fit the real card fails the same way.
///
/// Only sizes are tracked; the bytes themselves live in host memory.
/// Thread-safe (a `Mutex`). Invariant: used ≤ capacity; a handle is freed at
/// most once.
public final class HBMAllocator: Sendable {
    /// Name in messages, e.g. "npu:0 (910B2)".
    public let deviceName: String
    /// Capacity, bytes.
    public let capacityBytes: Int

    private struct State {
        var nextID = 0
        var live: [Int: HBMAllocation] = [:]
        var usedBytes = 0
    }
    private let state = Mutex(State())

    public init(deviceName: String, capacityBytes: Int) {
        precondition(capacityBytes > 0, "HBMAllocator: capacity must be positive")
        self.deviceName = deviceName
        self.capacityBytes = capacityBytes
    }

    /// The memory of card `deviceIndex` with chip `profile`.
    public convenience init(profile: ChipProfile, deviceIndex: Int) {
        self.init(deviceName: "npu:\(deviceIndex) (\(profile.name))", capacityBytes: profile.hbmBytes)
    }

    /// Reserves `bytes` under `name`; throws `NPUError.outOfMemory` (bytes
    /// and GiB requested and free) when they do not fit.
    public func allocate(_ name: String, bytes: Int) throws -> HBMAllocation {
        guard bytes >= 0 else { throw NPUError.invalidArgument(name: "allocation \(name)", reason: "negative size") }
        return try state.withLock { state in
            let available = capacityBytes - state.usedBytes
            guard bytes <= available else {
                throw NPUError.outOfMemory(requested: bytes, available: available, device: deviceName)
            }
            let allocation = HBMAllocation(id: state.nextID, name: name, bytes: bytes)
            state.nextID += 1
            state.live[allocation.id] = allocation
            state.usedBytes += bytes
            return allocation
        }
    }

    /// Releases `allocation`; throws `NPUError.unknownAllocation` when it is
    /// not live here (already freed, or from another card).
    public func free(_ allocation: HBMAllocation) throws {
        try state.withLock { state in
            guard state.live.removeValue(forKey: allocation.id) == allocation else {
                throw NPUError.unknownAllocation(name: allocation.name, device: deviceName)
            }
            state.usedBytes -= allocation.bytes
        }
    }

    /// Bytes allocated.
    public var usedBytes: Int { state.withLock { $0.usedBytes } }

    /// Bytes still free.
    public var freeBytes: Int { capacityBytes - usedBytes }

    /// Live allocations, oldest first.
    public var allocations: [HBMAllocation] {
        state.withLock { $0.live.values.sorted { $0.id < $1.id } }
    }

    /// Bytes to give the KV cache: `npuMemoryUtilization` of what is free now
    /// (after weights and workspace); see `kvCacheBytes(freeBytes:npuMemoryUtilization:)`.
    public func kvCacheBytes(npuMemoryUtilization: Double = 0.9) throws -> Int {
        try Self.kvCacheBytes(freeBytes: freeBytes, npuMemoryUtilization: npuMemoryUtilization)
    }

    /// ⌊`npuMemoryUtilization` × `freeBytes`⌋. `npuMemoryUtilization`
    /// (fraction, default 0.9) must be in (0, 1]; the rest is headroom for
    /// activations and fragmentation.
    public static func kvCacheBytes(freeBytes: Int, npuMemoryUtilization: Double = 0.9) throws -> Int {
        guard npuMemoryUtilization > 0, npuMemoryUtilization <= 1 else {
            throw NPUError.invalidArgument(
                name: "npuMemoryUtilization", reason: "must be in (0, 1], got \(npuMemoryUtilization)")
        }
        return Int((Double(max(freeBytes, 0)) * npuMemoryUtilization).rounded(.down))
    }
}

/// Handle of one live device-memory allocation.
public struct HBMAllocation: Sendable, Hashable {
    /// Unique per allocator.
    public let id: Int
    /// What it holds ("weights", "kv_cache", "workspace").
    public let name: String
    /// Size, bytes.
    public let bytes: Int
}
