import Synchronization

/// The process's set of metric families, rendered for Prometheus at `/metrics`.
///
/// Components register their families once at start-up (`counter`, `gauge`,
/// `histogram`, `collector`) and keep the returned handles; the HTTP handler calls
/// `render()` per scrape and answers with `contentType`. Registering a name again
/// with the same type, label names and buckets returns the existing family (the
/// first help text stays), so independent components may declare a shared metric;
/// a conflicting declaration traps (a programmer error), as do invalid names.
/// Families render in registration order, children ordered by label values.
/// Thread-safe: the registry's mutex guards only the list of families.
public final class MetricsRegistry: Sendable {
    /// The HTTP `Content-Type` of `render()`'s output (text format 0.0.4).
    public static let contentType = PrometheusText.contentType

    private let families = Mutex<[any MetricFamily]>([])

    public init() {}

    /// A counter family, exposed as `<name>_total` (the suffix is added unless present).
    public func counter(name: String, help: String, labelNames: [String] = []) -> Counter {
        register(Counter.exposedName(name)) {
            Counter(name: name, help: help, labelNames: labelNames)
        } matches: {
            $0.labelNames == labelNames
        }
    }

    /// A gauge family.
    public func gauge(name: String, help: String, labelNames: [String] = []) -> Gauge {
        register(name) {
            Gauge(name: name, help: help, labelNames: labelNames)
        } matches: {
            $0.labelNames == labelNames
        }
    }

    /// A histogram family with the given finite, increasing upper bounds (`+Inf` is implicit).
    public func histogram(
        name: String, help: String, buckets: [Double] = Histogram.defaultBuckets, labelNames: [String] = []
    ) -> Histogram {
        let family = register(name) {
            Histogram(name: name, help: help, buckets: buckets, labelNames: labelNames)
        } matches: {
            $0.labelNames == labelNames
        }
        let bounds = buckets.last == .infinity ? Array(buckets.dropLast()) : buckets
        precondition(family.upperBounds == bounds, "histogram \(name) registered again with other buckets")
        return family
    }

    /// Registers a counter or gauge family whose samples `collect` computes at each scrape.
    public func collector(
        name: String, help: String, type: MetricType, labelNames: [String] = [],
        collect: @escaping @Sendable () -> [CollectedSample]
    ) {
        let collector = MetricCollector(
            name: name, help: help, type: type, labelNames: labelNames, collect: collect)
        families.withLock { families in
            precondition(
                !families.contains { $0.name == collector.name }, "metric \(collector.name) already registered")
            families.append(collector)
        }
    }

    /// Registers an unlabelled counter or gauge whose value `value` reads at each scrape.
    public func collector(name: String, help: String, type: MetricType, value: @escaping @Sendable () -> Double) {
        collector(name: name, help: help, type: type) { [CollectedSample(value: value())] }
    }

    /// The exposition of every family, in the Prometheus text format 0.0.4.
    public func render() -> String {
        let snapshot = families.withLock { $0 }
        var output = ""
        output.reserveCapacity(256 * snapshot.count)
        for family in snapshot {
            family.render(into: &output)
        }
        return output
    }

    /// The family registered under `exposedName`, or a new one from `make`.
    private func register<Family: MetricFamily>(
        _ exposedName: String, make: () -> Family, matches: (Family) -> Bool
    ) -> Family {
        families.withLock { families in
            if let existing = families.first(where: { $0.name == exposedName }) {
                guard let same = existing as? Family, matches(same) else {
                    preconditionFailure("metric \(exposedName) already registered with another type or labels")
                }
                return same
            }
            let created = make()
            families.append(created)
            return created
        }
    }
}
