/// A gauge or counter family whose samples are computed at scrape time by a
/// closure, for values owned elsewhere (the engine's running and waiting
/// requests, KV cache usage) that would be wasteful to push on every change.
///
/// The closure runs on the scraping thread, outside every registry lock, once per
/// `render()`; it must be quick and thread-safe, and must return label values
/// matching `labelNames` (a mismatch traps, as a programmer error).
final class MetricCollector: MetricFamily {
    let name: String
    let help: String
    let type: MetricType
    let labelNames: [String]
    private let collect: @Sendable () -> [CollectedSample]

    init(
        name: String, help: String, type: MetricType, labelNames: [String],
        collect: @escaping @Sendable () -> [CollectedSample]
    ) {
        precondition(type != .histogram, "collectors report counters or gauges, not histograms (\(name))")
        Self.validate(name: name, labelNames: labelNames)
        self.name = type == .counter ? Counter.exposedName(name) : name
        self.help = help
        self.type = type
        self.labelNames = labelNames
        self.collect = collect
    }

    func render(into output: inout String) {
        PrometheusText.writeHeader(name: name, help: help, type: type, into: &output)
        for sample in collect() {
            precondition(
                sample.labelValues.count == labelNames.count,
                "collector \(name) returned \(sample.labelValues.count) label values for \(labelNames)")
            PrometheusText.writeSample(
                name: name, labelNames: labelNames, labelValues: sample.labelValues, value: sample.value,
                into: &output)
        }
    }
}
