/// A registered metric family as `MetricsRegistry` sees it: a name, a type and a
/// way to append its exposition (HELP, TYPE and sample lines) to the scrape.
protocol MetricFamily: AnyObject, Sendable {
    /// The name on the HELP and TYPE lines (a counter's ends in `_total`).
    var name: String { get }
    var help: String { get }
    var type: MetricType { get }
    var labelNames: [String] { get }
    /// Appends the family's full exposition, header included.
    func render(into output: inout String)
}

extension MetricFamily {
    /// Checks the names of a new family; invalid names are programmer errors.
    static func validate(name: String, labelNames: [String], reserved: Set<String> = []) {
        precondition(PrometheusText.isValidMetricName(name), "invalid metric name \(name)")
        for label in labelNames {
            precondition(PrometheusText.isValidLabelName(label), "invalid label name \(label) in \(name)")
            precondition(!reserved.contains(label), "label name \(label) is reserved in \(name)")
        }
        precondition(Set(labelNames).count == labelNames.count, "duplicate label names in \(name)")
    }
}
