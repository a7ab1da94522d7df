import Dispatch
import Foundation
import Synchronization
import Testing

@testable import Telemetry

@Suite("Metrics registry")
struct MetricsRegistryTests {
    @Test("increments from many threads sum exactly")
    func concurrentCounters() {
        let registry = MetricsRegistry()
        let counter = registry.counter(name: "hits", help: "Hits.", labelNames: ["shard"])
        let gauge = registry.gauge(name: "level", help: "Level.")
        let numThreads = 16
        let numIncrements = 5_000
        DispatchQueue.concurrentPerform(iterations: numThreads) { thread in
            // Half the threads share a child created concurrently by label lookup.
            let child = counter.labels("s\(thread % 2)")
            for _ in 0..<numIncrements {
                child.inc()
                gauge.inc(by: 2)
                gauge.dec()
            }
        }
        #expect(counter.labels("s0").value == Double(numThreads / 2 * numIncrements))
        #expect(counter.labels("s1").value == Double(numThreads / 2 * numIncrements))
        #expect(gauge.value == Double(numThreads * numIncrements))
    }

    @Test("observations from many threads keep buckets, sum and count consistent")
    func concurrentHistogram() {
        let registry = MetricsRegistry()
        let histogram = registry.histogram(name: "sizes", help: "Sizes.", buckets: [1, 2])
        DispatchQueue.concurrentPerform(iterations: 8) { thread in
            for i in 0..<3_000 { histogram.observe(Double((i + thread) % 3)) }
        }
        let output = registry.render()
        #expect(output.contains("sizes_bucket{le=\"1\"} 16000\n"))
        #expect(output.contains("sizes_bucket{le=\"2\"} 24000\n"))
        #expect(output.contains("sizes_bucket{le=\"+Inf\"} 24000\n"))
        #expect(output.contains("sizes_sum 24000\n"))
        #expect(output.contains("sizes_count 24000\n"))
    }

    @Test("scraping while other threads update never loses an update")
    func scrapeDuringUpdates() {
        let registry = MetricsRegistry()
        let counter = registry.counter(name: "events", help: "Events.")
        DispatchQueue.concurrentPerform(iterations: 4) { thread in
            for _ in 0..<2_000 {
                if thread == 0 { _ = registry.render() } else { counter.inc() }
            }
        }
        #expect(counter.value == 6_000)
        #expect(registry.render().contains("events_total 6000\n"))
    }

    @Test("collectors are evaluated at each scrape, after the registered families")
    func collectors() {
        let registry = MetricsRegistry()
        let running = Atomic<Int>(2)
        let registered = registry.gauge(name: "pangu:num_preemptions", help: "Preemptions.")
        registered.set(1)
        registry.collector(name: "pangu:num_requests_running", help: "Running requests.", type: .gauge) {
            Double(running.load(ordering: .relaxed))
        }
        registry.collector(
            name: "pangu:generation_tokens", help: "Generated tokens.", type: .counter, labelNames: ["model_name"]
        ) {
            [CollectedSample(labelValues: ["m\"1"], value: 7), CollectedSample(labelValues: ["m2"], value: 0.5)]
        }
        let expected = """
            # HELP pangu:num_preemptions Preemptions.
            # TYPE pangu:num_preemptions gauge
            pangu:num_preemptions 1
            # HELP pangu:num_requests_running Running requests.
            # TYPE pangu:num_requests_running gauge
            pangu:num_requests_running RUNNING
            # HELP pangu:generation_tokens_total Generated tokens.
            # TYPE pangu:generation_tokens_total counter
            pangu:generation_tokens_total{model_name="m\\"1"} 7
            pangu:generation_tokens_total{model_name="m2"} 0.5

            """
        #expect(registry.render() == expected.replacingOccurrences(of: "RUNNING", with: "2"))
        running.store(5, ordering: .relaxed)
        #expect(registry.render() == expected.replacingOccurrences(of: "RUNNING", with: "5"))
    }

    @Test("registering a family again returns the same one")
    func reRegistration() {
        let registry = MetricsRegistry()
        let first = registry.counter(name: "pangu:requests", help: "Requests.", labelNames: ["code"])
        let again = registry.counter(name: "pangu:requests_total", help: "Other help.", labelNames: ["code"])
        #expect(first === again)
        let histogram = registry.histogram(name: "h", help: "H.", buckets: [1, 2, .infinity])
        #expect(histogram === registry.histogram(name: "h", help: "H.", buckets: [1, 2]))
        #expect(histogram.upperBounds == [1, 2])
        first.labels("200").inc()
        #expect(registry.render().components(separatedBy: "# TYPE pangu:requests_total").count == 2)
    }

    @Test("registering a name again with another type traps")
    func conflictingRegistration() async {
        await #expect(processExitsWith: .failure) {
            let registry = MetricsRegistry()
            _ = registry.gauge(name: "clash", help: "A gauge.")
            _ = registry.histogram(name: "clash", help: "A histogram.")
        }
    }

    @Test("a labelled family without children renders only its header")
    func emptyLabelledFamily() {
        let registry = MetricsRegistry()
        _ = registry.histogram(name: "empty", help: "Nothing yet.", labelNames: ["model_name"])
        #expect(registry.render() == "# HELP empty Nothing yet.\n# TYPE empty histogram\n")
        #expect(MetricsRegistry.contentType == "text/plain; version=0.0.4; charset=utf-8")
    }
}
