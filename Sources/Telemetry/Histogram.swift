import Synchronization

/// A family of histograms (time to first token, request latency), one child per
/// tuple of label values, exposed as cumulative `_bucket{le=...}` lines ending in
/// `le="+Inf"`, then `_sum` and `_count`.
///
/// Get it from `MetricsRegistry.histogram(name:help:buckets:labelNames:)`. An
/// observation costs a binary search over the bounds and one short critical section
/// on the child's mutex, without allocating; the mutex keeps buckets, sum and count
/// consistent with each other in every scrape.
/// Invariants: bucket upper bounds are finite and strictly increasing; the `+Inf`
/// bucket is implicit; `le` is a reserved label name.
public final class Histogram: Sendable, MetricFamily {
    /// Prometheus' default bounds, in seconds: 5 ms to 10 s.
    public static let defaultBuckets: [Double] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

    /// One labelled histogram.
    public final class Child: Sendable {
        /// Counts per bucket (not cumulative; the last is the `+Inf` bucket), sum and count.
        struct State {
            var bucketCounts: [UInt64]
            var sum: Double = 0
            var count: UInt64 = 0
        }

        let upperBounds: [Double]
        private let state: Mutex<State>

        init(upperBounds: [Double]) {
            self.upperBounds = upperBounds
            state = Mutex(State(bucketCounts: [UInt64](repeating: 0, count: upperBounds.count + 1)))
        }

        /// Records one observation (a NaN lands in `+Inf` and makes the sum NaN, as in Prometheus).
        public func observe(_ value: Double) {
            let bucket = bucketIndex(value)
            state.withLock { state in
                state.bucketCounts[bucket] += 1
                state.sum += value
                state.count += 1
            }
        }

        /// Number of observations so far.
        public var count: UInt64 { state.withLock { $0.count } }

        /// Sum of the observations so far.
        public var sum: Double { state.withLock { $0.sum } }

        func snapshot() -> State { state.withLock { $0 } }

        /// The first bucket whose upper bound is >= `value`; `upperBounds.count` for `+Inf`.
        private func bucketIndex(_ value: Double) -> Int {
            var low = 0
            var high = upperBounds.count
            while low < high {
                let middle = (low + high) / 2
                if value <= upperBounds[middle] { high = middle } else { low = middle + 1 }
            }
            return low
        }
    }

    public let name: String
    public let help: String
    public let labelNames: [String]
    /// Finite upper bounds, strictly increasing.
    public let upperBounds: [Double]
    var type: MetricType { .histogram }
    private let children: LabeledChildren<Child>
    private let unlabeled: Child?

    init(name: String, help: String, buckets: [Double], labelNames: [String]) {
        Self.validate(name: name, labelNames: labelNames, reserved: ["le"])
        let bounds = buckets.last == .infinity ? Array(buckets.dropLast()) : buckets
        precondition(bounds.allSatisfy(\.isFinite), "histogram \(name): bucket bounds must be finite")
        precondition(zip(bounds, bounds.dropFirst()).allSatisfy(<), "histogram \(name): bounds must increase")
        self.name = name
        self.help = help
        self.labelNames = labelNames
        upperBounds = bounds
        children = LabeledChildren(labelNames: labelNames) { Child(upperBounds: bounds) }
        unlabeled = labelNames.isEmpty ? children.child([]) : nil
    }

    /// The child for these label values, in `labelNames` order.
    public func labels(_ values: String...) -> Child { children.child(values) }

    /// The child for these label values, in `labelNames` order.
    public func labels(_ values: [String]) -> Child { children.child(values) }

    /// Records one observation in a family without labels.
    public func observe(_ value: Double) {
        guard let unlabeled else { preconditionFailure("\(name) has labels \(labelNames); use labels(...)") }
        unlabeled.observe(value)
    }

    func render(into output: inout String) {
        PrometheusText.writeHeader(name: name, help: help, type: .histogram, into: &output)
        let bucketName = name + "_bucket"
        for (labelValues, child) in children.snapshot() {
            let state = child.snapshot()
            var cumulative: UInt64 = 0
            for (index, bucketCount) in state.bucketCounts.enumerated() {
                cumulative += bucketCount
                let bound = index < upperBounds.count ? upperBounds[index] : .infinity
                PrometheusText.writeSample(
                    name: bucketName, labelNames: labelNames, labelValues: labelValues,
                    extraLabel: ("le", PrometheusText.format(bound)), value: Double(cumulative), into: &output)
            }
            PrometheusText.writeSample(
                name: name + "_sum", labelNames: labelNames, labelValues: labelValues, value: state.sum, into: &output)
            PrometheusText.writeSample(
                name: name + "_count", labelNames: labelNames, labelValues: labelValues, value: Double(state.count),
                into: &output)
        }
    }
}
