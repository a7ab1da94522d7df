import Synchronization

/// Running totals of one simulated card's time: the device timeline
/// (`simulatedSeconds`, busy plus idle) and the time spent running steps
/// (`busySeconds`, per op category too); the NPU worker commits each step's
/// ledger here and paces to it, and metrics read it.
///
/// Thread-safe (a `Mutex`); invariants: busy ≤ simulated, both only grow.
public final class NPUDeviceClock: Sendable {
    /// A consistent copy of the counters.
    public struct Reading: Sendable, Equatable {
        /// Device timeline, seconds: busy time plus idle gaps.
        public var simulatedSeconds = 0.0
        /// Seconds spent in steps.
        public var busySeconds = 0.0
        /// Busy seconds per op category.
        public var busySecondsByCategory: [NPUOpCategory: Double] = [:]
        /// Steps committed.
        public var numSteps = 0

        /// busy / simulated, 0 before any time passed.
        public var utilization: Double { simulatedSeconds > 0 ? busySeconds / simulatedSeconds : 0 }
    }

    private let state = Mutex(Reading())

    public init() {}

    /// Adds a finished step: its time is both busy and on the timeline.
    public func commit(_ ledger: NPUStepLedger) {
        let byCategory = NPUOpCategory.allCases.map { ($0, ledger.totals($0).seconds) }
        let seconds = ledger.stepSeconds
        state.withLock { reading in
            reading.simulatedSeconds += seconds
            reading.busySeconds += seconds
            reading.numSteps += 1
            for (category, seconds) in byCategory where seconds > 0 {
                reading.busySecondsByCategory[category, default: 0] += seconds
            }
        }
    }

    /// Adds `seconds` of idle time (the device waited for work).
    public func advanceIdle(seconds: Double) {
        precondition(seconds >= 0, "NPUDeviceClock: negative idle time")
        state.withLock { $0.simulatedSeconds += seconds }
    }

    /// The current counters.
    public var reading: Reading { state.withLock { $0 } }
}
