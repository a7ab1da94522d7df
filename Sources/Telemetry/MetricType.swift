/// The kind of a metric family, as written on its `# TYPE` line.
public enum MetricType: String, Sendable, CaseIterable {
    /// A value that only goes up (resets on restart); exposed with a `_total` suffix.
    case counter
    /// A value that goes up and down.
    case gauge
    /// Observations counted into cumulative buckets, with their sum and count.
    case histogram
}
