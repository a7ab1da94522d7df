/// A family of monotonically increasing counters (requests served, tokens
/// generated), one child per tuple of label values, exposed as `<name>_total`.
///
/// Get it from `MetricsRegistry.counter(name:help:labelNames:)`. A family without
/// labels is incremented directly; otherwise take `labels(...)` once and keep the
/// child, whose `inc` is a single lock-free compare-and-exchange.
/// Invariant: a child's value never decreases (`inc` with a negative amount traps).
public final class Counter: Sendable, MetricFamily {
    /// One labelled counter.
    public final class Child: Sendable {
        private let storage = AtomicDouble()

        init() {}

        /// Adds `amount` (>= 0).
        public func inc(by amount: Double = 1) {
            precondition(amount >= 0, "a counter cannot decrease (inc by \(amount))")
            storage.add(amount)
        }

        /// The current value.
        public var value: Double { storage.load() }
    }

    /// The exposed name: the registered name with `_total` appended unless present.
    public let name: String
    public let help: String
    public let labelNames: [String]
    var type: MetricType { .counter }
    private let children: LabeledChildren<Child>
    private let unlabeled: Child?

    init(name: String, help: String, labelNames: [String]) {
        Self.validate(name: name, labelNames: labelNames)
        self.name = Self.exposedName(name)
        self.help = help
        self.labelNames = labelNames
        children = LabeledChildren(labelNames: labelNames) { Child() }
        unlabeled = labelNames.isEmpty ? children.child([]) : nil
    }

    /// `name` with the `_total` suffix counters are exposed with.
    static func exposedName(_ name: String) -> String {
        name.hasSuffix("_total") ? name : name + "_total"
    }

    /// The child for these label values, in `labelNames` order.
    public func labels(_ values: String...) -> Child { children.child(values) }

    /// The child for these label values, in `labelNames` order.
    public func labels(_ values: [String]) -> Child { children.child(values) }

    /// Adds `amount` to a family without labels.
    public func inc(by amount: Double = 1) { requireUnlabeled().inc(by: amount) }

    /// The value of a family without labels.
    public var value: Double { requireUnlabeled().value }

    func render(into output: inout String) {
        PrometheusText.writeHeader(name: name, help: help, type: .counter, into: &output)
        for (labelValues, child) in children.snapshot() {
            PrometheusText.writeSample(
                name: name, labelNames: labelNames, labelValues: labelValues, value: child.value, into: &output)
        }
    }

    private func requireUnlabeled() -> Child {
        guard let unlabeled else { preconditionFailure("\(name) has labels \(labelNames); use labels(...)") }
        return unlabeled
    }
}
