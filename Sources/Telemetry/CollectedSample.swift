/// One value reported by a scrape-time collector: label values (in the order of
/// the collector's `labelNames`) and the value.
public struct CollectedSample: Sendable, Equatable {
    public var labelValues: [String]
    public var value: Double

    public init(labelValues: [String] = [], value: Double) {
        self.labelValues = labelValues
        self.value = value
    }
}
