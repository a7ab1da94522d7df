/// A snapshot of one simulated card for `/metrics` and `pangu-serve
/// devices`: memory, simulated time and copies. Published by the API layer as
/// gauges labelled `device` (e.g. `pangu_device_memory_used_bytes{device="npu:0"}`).
///
/// Plain `Sendable` value; read from `NPUDeviceGroup.deviceStats` on any thread.
public struct DeviceStats: Sendable, Equatable {
    /// Card name, e.g. "npu:0".
    public var name: String
    /// Chip profile, e.g. "910B2".
    public var profile: String
    /// Worker the card belongs to, e.g. "npu0".
    public var workerName: String
    /// Device memory in use (weights + KV cache), bytes.
    public var memoryUsedBytes: Int
    /// Device memory capacity, bytes.
    public var memoryTotalBytes: Int
    /// Seconds the card spent in steps (simulated).
    public var busySeconds: Double
    /// Simulated device timeline, seconds (busy plus idle).
    public var simulatedSeconds: Double
    /// Steps run.
    public var numSteps: Int
    /// Bytes copied host → device (weights) and device → host (sampled ids).
    public var hostToDeviceBytes: Int
    public var deviceToHostBytes: Int

    public init(
        name: String, profile: String, workerName: String, memoryUsedBytes: Int, memoryTotalBytes: Int,
        busySeconds: Double = 0, simulatedSeconds: Double = 0, numSteps: Int = 0, hostToDeviceBytes: Int = 0,
        deviceToHostBytes: Int = 0
    ) {
        self.name = name
        self.profile = profile
        self.workerName = workerName
        self.memoryUsedBytes = memoryUsedBytes
        self.memoryTotalBytes = memoryTotalBytes
        self.busySeconds = busySeconds
        self.simulatedSeconds = simulatedSeconds
        self.numSteps = numSteps
        self.hostToDeviceBytes = hostToDeviceBytes
        self.deviceToHostBytes = deviceToHostBytes
    }

    /// busy / simulated; 0 before any time passed.
    public var utilization: Double { simulatedSeconds > 0 ? busySeconds / simulatedSeconds : 0 }
}
