import Synchronization

/// Counters of copies between host memory and one simulated card's device
/// memory (bytes and number of copies, each direction), for metrics and for
/// tests that check what a step moved.
///
/// Thread-safe (atomics); counters only grow.
public final class NPUTransferCounters: Sendable {
    /// A copy of the counters.
    public struct Reading: Sendable, Equatable {
        public var numHostToDeviceCopies = 0
        public var hostToDeviceBytes = 0
        public var numDeviceToHostCopies = 0
        public var deviceToHostBytes = 0
    }

    private let numH2D = Atomic<Int>(0)
    private let bytesH2D = Atomic<Int>(0)
    private let numD2H = Atomic<Int>(0)
    private let bytesD2H = Atomic<Int>(0)

    public init() {}

    /// Counts one host-to-device copy of `bytes`.
    public func recordHostToDevice(bytes: Int) {
        precondition(bytes >= 0, "NPUTransferCounters: negative copy size")
        numH2D.add(1, ordering: .relaxed)
        bytesH2D.add(bytes, ordering: .relaxed)
    }

    /// Counts one device-to-host copy of `bytes`.
    public func recordDeviceToHost(bytes: Int) {
        precondition(bytes >= 0, "NPUTransferCounters: negative copy size")
        numD2H.add(1, ordering: .relaxed)
        bytesD2H.add(bytes, ordering: .relaxed)
    }

    /// Current values (each counter read atomically; not a joint snapshot).
    public var reading: Reading {
        Reading(
            numHostToDeviceCopies: numH2D.load(ordering: .relaxed),
            hostToDeviceBytes: bytesH2D.load(ordering: .relaxed),
            numDeviceToHostCopies: numD2H.load(ordering: .relaxed),
            deviceToHostBytes: bytesD2H.load(ordering: .relaxed))
    }
}
