import Foundation

/// Summary statistics of a `bench serve` run.
struct BenchReport {
    let numRequests: Int
    let numFailed: Int
    let duration: Double
    let concurrency: Int
    let outputTokens: Int
    let ttft: [Double]
    let itl: [Double]
    let firstError: String?

    init(traces: [StreamingClient.Trace], duration: Double, concurrency: Int) {
        // Tokens whose text is empty (ids the tokenizer cannot spell) send no event; usage still counts them.
        let ok = traces.filter { $0.error == nil && ($0.completionTokens > 0 || !$0.tokenTimes.isEmpty) }
        numRequests = traces.count
        numFailed = traces.count - ok.count
        self.duration = duration
        self.concurrency = concurrency
        outputTokens = ok.reduce(0) { $0 + max($1.completionTokens, $1.tokenTimes.count) }
        ttft = ok.compactMap { t in t.tokenTimes.first.map { $0 - t.start } }.sorted()
        itl = ok.flatMap { t in zip(t.tokenTimes.dropFirst(), t.tokenTimes).map { $0 - $1 } }.sorted()
        firstError = traces.compactMap(\.error).first
    }

    static func percentile(_ sorted: [Double], _ p: Double) -> Double {
        guard !sorted.isEmpty else { return .nan }
        return sorted[min(sorted.count - 1, Int((p / 100 * Double(sorted.count - 1)).rounded()))]
    }

    var figures: [(String, Double)] {
        [
            ("requests_per_second", Double(numRequests - numFailed) / duration),
            ("output_tokens_per_second", Double(outputTokens) / duration),
            ("ttft_mean_ms", ttft.isEmpty ? .nan : ttft.reduce(0, +) / Double(ttft.count) * 1000),
            ("ttft_p50_ms", Self.percentile(ttft, 50) * 1000), ("ttft_p90_ms", Self.percentile(ttft, 90) * 1000),
            ("ttft_p99_ms", Self.percentile(ttft, 99) * 1000),
            ("itl_p50_ms", Self.percentile(itl, 50) * 1000), ("itl_p90_ms", Self.percentile(itl, 90) * 1000),
            ("itl_p99_ms", Self.percentile(itl, 99) * 1000),
        ]
    }

    var table: String {
        var lines = [
            "requests: \(numRequests) (\(numFailed) failed), concurrency \(concurrency), duration \(String(format: "%.2f", duration)) s, output tokens \(outputTokens)"
        ]
        for (name, value) in figures {
            lines.append(name.padding(toLength: 28, withPad: " ", startingAt: 0) + String(format: "%10.2f", value))
        }
        if let firstError { lines.append("first error: \(firstError)") }
        return lines.joined(separator: "\n")
    }

    var json: String {
        var object: [String: Any] = [
            "num_requests": numRequests, "num_failed": numFailed, "duration_s": duration, "concurrency": concurrency,
            "output_tokens": outputTokens,
        ]
        for (name, value) in figures where value.isFinite { object[name] = value }
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }
}
