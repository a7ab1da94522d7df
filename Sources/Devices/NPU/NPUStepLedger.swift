/// Record of the ops one simulated device runs in one step: every op with its
/// timing, totals per op category, and the step time (the sum, since one
/// stream runs its kernels in order).
///
/// Value type owned by whoever runs the step (the NPU worker's thread, or the
/// estimator); commit it to an `NPUDeviceClock` at the end of the step.
public struct NPUStepLedger: Sendable {
    /// One recorded op.
    public struct Entry: Sendable, Equatable {
        public var op: NPUOp
        public var timing: NPUOpTiming
    }

    /// The cost model ops are timed with.
    public let costModel: NPUCostModel
    /// Ops in the order recorded.
    public private(set) var entries: [Entry] = []
    private var totalsByCategory: [NPUOpCategory: NPUOpTotals] = [:]

    public init(costModel: NPUCostModel) {
        self.costModel = costModel
    }

    /// Times `op` and appends it; returns its timing.
    @discardableResult
    public mutating func record(_ op: NPUOp) throws -> NPUOpTiming {
        let timing = try costModel.timing(of: op)
        entries.append(Entry(op: op, timing: timing))
        totalsByCategory[op.category, default: NPUOpTotals()].add(op, timing)
        return timing
    }

    /// Records every op of `ops` in order.
    public mutating func record(contentsOf ops: [NPUOp]) throws {
        for op in ops { try record(op) }
    }

    /// Totals of one category (zero when none was recorded).
    public func totals(_ category: NPUOpCategory) -> NPUOpTotals {
        totalsByCategory[category] ?? NPUOpTotals()
    }

    /// Totals over all categories.
    public var total: NPUOpTotals {
        NPUOpCategory.allCases.reduce(into: NPUOpTotals()) { $0.merge(totals($1)) }
    }

    /// Simulated time of the step, seconds.
    public var stepSeconds: Double { total.seconds }

    /// Forgets all entries, keeping the cost model.
    public mutating func reset() {
        entries.removeAll(keepingCapacity: true)
        totalsByCategory.removeAll()
    }
}

/// Sums over a set of ops.
public struct NPUOpTotals: Sendable, Equatable {
    public var numOps = 0
    public var numLaunches = 0
    public var flops = 0.0
    public var bytes = 0.0
    public var seconds = 0.0
    /// Launch part of `seconds`.
    public var launchSeconds = 0.0

    public init() {}

    mutating func add(_ op: NPUOp, _ timing: NPUOpTiming) {
        numOps += 1
        numLaunches += op.numLaunches
        flops += op.flops
        bytes += op.bytes
        seconds += timing.seconds
        launchSeconds += timing.launchSeconds
    }

    mutating func merge(_ other: NPUOpTotals) {
        numOps += other.numOps
        numLaunches += other.numLaunches
        flops += other.flops
        bytes += other.bytes
        seconds += other.seconds
        launchSeconds += other.launchSeconds
    }
}
