/// A family of values that go up and down (requests waiting, KV cache usage),
/// one child per tuple of label values.
///
/// Get it from `MetricsRegistry.gauge(name:help:labelNames:)`. A family without
/// labels is set directly; otherwise take `labels(...)` once and keep the child.
/// Every update is lock-free. For values owned by another component (the engine's
/// running requests), prefer a scrape-time collector over pushing updates.
public final class Gauge: Sendable, MetricFamily {
    /// One labelled gauge.
    public final class Child: Sendable {
        private let storage = AtomicDouble()

        init() {}

        /// Replaces the value.
        public func set(_ value: Double) { storage.store(value) }

        /// Adds `amount`.
        public func inc(by amount: Double = 1) { storage.add(amount) }

        /// Subtracts `amount`.
        public func dec(by amount: Double = 1) { storage.add(-amount) }

        /// The current value.
        public var value: Double { storage.load() }
    }

    public let name: String
    public let help: String
    public let labelNames: [String]
    var type: MetricType { .gauge }
    private let children: LabeledChildren<Child>
    private let unlabeled: Child?

    init(name: String, help: String, labelNames: [String]) {
        Self.validate(name: name, labelNames: labelNames)
        self.name = name
        self.help = help
        self.labelNames = labelNames
        children = LabeledChildren(labelNames: labelNames) { Child() }
        unlabeled = labelNames.isEmpty ? children.child([]) : nil
    }

    /// The child for these label values, in `labelNames` order.
    public func labels(_ values: String...) -> Child { children.child(values) }

    /// The child for these label values, in `labelNames` order.
    public func labels(_ values: [String]) -> Child { children.child(values) }

    /// Replaces the value of a family without labels.
    public func set(_ value: Double) { requireUnlabeled().set(value) }

    /// Adds `amount` to a family without labels.
    public func inc(by amount: Double = 1) { requireUnlabeled().inc(by: amount) }

    /// Subtracts `amount` from a family without labels.
    public func dec(by amount: Double = 1) { requireUnlabeled().dec(by: amount) }

    /// The value of a family without labels.
    public var value: Double { requireUnlabeled().value }

    func render(into output: inout String) {
        PrometheusText.writeHeader(name: name, help: help, type: .gauge, into: &output)
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
