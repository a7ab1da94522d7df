/// What `NPUSimulation.run` predicts: latency percentiles and throughput,
/// all in simulated (chip) seconds.
public struct NPUSimulationReport: Sendable, Equatable {
    /// Time to first token per request (arrival → first token), seconds.
    public var timeToFirstToken: Summary
    /// Time per output token per request ((last − first token) / (n − 1)), seconds.
    public var timePerOutputToken: Summary
    /// Generated tokens in total.
    public var numOutputTokens: Int
    public var numRequests: Int
    public var numSteps: Int
    /// Mean running requests per step.
    public var meanNumRunning: Double
    /// Simulated time from the first arrival to the last token, seconds.
    public var simulatedSeconds: Double
    /// Cards of the device group.
    public var numCards: Int

    /// Generated tokens per simulated second, all cards.
    public var outputTokensPerSecond: Double { simulatedSeconds > 0 ? Double(numOutputTokens) / simulatedSeconds : 0 }
    /// `outputTokensPerSecond` per card.
    public var outputTokensPerSecondPerCard: Double { outputTokensPerSecond / Double(max(numCards, 1)) }

    /// Mean and percentiles of a sample, seconds.
    public struct Summary: Sendable, Equatable {
        public var mean: Double
        public var p50: Double
        public var p99: Double

        /// Nearest-rank percentiles; all zero for an empty sample.
        public init(_ values: [Double]) {
            let sorted = values.sorted()
            guard !sorted.isEmpty else {
                (mean, p50, p99) = (0, 0, 0)
                return
            }
            mean = sorted.reduce(0, +) / Double(sorted.count)
            func rank(_ p: Double) -> Double {
                let index = Int((p * Double(sorted.count)).rounded(.up)) - 1
                return sorted[min(max(index, 0), sorted.count - 1)]
            }
            p50 = rank(0.5)
            p99 = rank(0.99)
        }
    }

    init(
        timeToFirstToken ttfts: [Double], timePerOutputToken tpots: [Double], numRequests: Int, numOutputTokens: Int,
        numSteps: Int, meanNumRunning: Double, simulatedSeconds: Double, numCards: Int
    ) {
        timeToFirstToken = Summary(ttfts)
        timePerOutputToken = Summary(tpots)
        self.numRequests = numRequests
        self.numOutputTokens = numOutputTokens
        self.numSteps = numSteps
        self.meanNumRunning = meanNumRunning
        self.simulatedSeconds = simulatedSeconds
        self.numCards = numCards
    }
}
