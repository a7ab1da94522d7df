import Testing

@testable import Telemetry

@Suite("Prometheus rendering")
struct MetricsRenderingTests {
    @Test("a labelled counter renders HELP, TYPE and one _total line per child, ordered by label values")
    func counter() {
        let registry = MetricsRegistry()
        let tokens = registry.counter(
            name: "pangu:prompt_tokens", help: "Number of prefill tokens processed.", labelNames: ["model_name"])
        tokens.labels("pangu-1b").inc(by: 12)
        tokens.labels("a").inc()
        tokens.labels("pangu-1b").inc(by: 0.5)
        #expect(
            registry.render() == """
                # HELP pangu:prompt_tokens_total Number of prefill tokens processed.
                # TYPE pangu:prompt_tokens_total counter
                pangu:prompt_tokens_total{model_name="a"} 1
                pangu:prompt_tokens_total{model_name="pangu-1b"} 12.5

                """)
    }

    @Test("an unlabelled counter starts at zero and keeps an explicit _total suffix once")
    func unlabelledCounter() {
        let registry = MetricsRegistry()
        let requests = registry.counter(name: "pangu:request_success_total", help: "Finished requests.")
        #expect(requests.name == "pangu:request_success_total")
        #expect(
            registry.render() == """
                # HELP pangu:request_success_total Finished requests.
                # TYPE pangu:request_success_total counter
                pangu:request_success_total 0

                """)
        requests.inc(by: 3)
        #expect(requests.value == 3)
    }

    @Test("a gauge renders its current value after set, inc and dec")
    func gauge() {
        let registry = MetricsRegistry()
        let usage = registry.gauge(
            name: "pangu:kv_cache_usage_perc", help: "KV-cache usage. 1 means 100 percent usage.")
        usage.set(0.25)
        usage.inc(by: 0.5)
        usage.dec(by: 0.125)
        let waiting = registry.gauge(
            name: "pangu:num_requests_waiting", help: "Waiting requests.", labelNames: ["model_name"])
        waiting.labels("m").set(4)
        waiting.labels("m").dec()
        #expect(
            registry.render() == """
                # HELP pangu:kv_cache_usage_perc KV-cache usage. 1 means 100 percent usage.
                # TYPE pangu:kv_cache_usage_perc gauge
                pangu:kv_cache_usage_perc 0.625
                # HELP pangu:num_requests_waiting Waiting requests.
                # TYPE pangu:num_requests_waiting gauge
                pangu:num_requests_waiting{model_name="m"} 3

                """)
    }

    @Test("a histogram renders cumulative buckets ending in +Inf, then _sum and _count")
    func histogram() {
        let registry = MetricsRegistry()
        let latency = registry.histogram(
            name: "pangu:e2e_request_latency_seconds", help: "End-to-end latency.", buckets: [0.25, 0.5, 1],
            labelNames: ["model_name"])
        // 0.25 sits on a bound and counts in le="0.25" (bounds are inclusive).
        for value in [0.125, 0.25, 0.75, 3] { latency.labels("m").observe(value) }
        #expect(
            registry.render() == """
                # HELP pangu:e2e_request_latency_seconds End-to-end latency.
                # TYPE pangu:e2e_request_latency_seconds histogram
                pangu:e2e_request_latency_seconds_bucket{model_name="m",le="0.25"} 2
                pangu:e2e_request_latency_seconds_bucket{model_name="m",le="0.5"} 2
                pangu:e2e_request_latency_seconds_bucket{model_name="m",le="1"} 3
                pangu:e2e_request_latency_seconds_bucket{model_name="m",le="+Inf"} 4
                pangu:e2e_request_latency_seconds_sum{model_name="m"} 4.125
                pangu:e2e_request_latency_seconds_count{model_name="m"} 4

                """)
    }

    @Test("bucket counts are cumulative and non-decreasing, and the +Inf bucket equals the count")
    func cumulativeBuckets() {
        let registry = MetricsRegistry()
        let histogram = registry.histogram(name: "ttft_seconds", help: "TTFT.")
        var expectedSum = 0.0
        for i in 0..<500 {
            let value = Double(i % 97) * 0.13
            histogram.observe(value)
            expectedSum += value
        }
        let lines = registry.render().split(separator: "\n")
        let bucketValues = lines.filter { $0.hasPrefix("ttft_seconds_bucket") }.compactMap {
            Double($0.split(separator: " ")[1])
        }
        #expect(bucketValues.count == Histogram.defaultBuckets.count + 1)
        #expect(zip(bucketValues, bucketValues.dropFirst()).allSatisfy { $0 <= $1 })
        #expect(bucketValues.last == 500)
        #expect(lines.contains("ttft_seconds_count 500"))
        for (bound, cumulative) in zip(Histogram.defaultBuckets, bucketValues) {
            let expected = (0..<500).filter { Double($0 % 97) * 0.13 <= bound }.count
            #expect(cumulative == Double(expected))
        }
        #expect(abs(histogram.labels().sum - expectedSum) < 1e-9)
    }

    @Test("label values escape backslash, double quote and newline; HELP escapes backslash and newline")
    func escaping() {
        let registry = MetricsRegistry()
        let errors = registry.counter(
            name: "errors", help: "Errors with a \\ and\na second \"line\".", labelNames: ["path"])
        errors.labels("C:\\dir \"x\"\nnext").inc()
        #expect(
            registry.render() == """
                # HELP errors_total Errors with a \\\\ and\\na second "line".
                # TYPE errors_total counter
                errors_total{path="C:\\\\dir \\"x\\"\\nnext"} 1

                """)
    }

    @Test("values are spelled as the format requires")
    func valueFormat() {
        #expect(PrometheusText.format(3) == "3")
        #expect(PrometheusText.format(-2) == "-2")
        #expect(PrometheusText.format(0.1) == "0.1")
        #expect(PrometheusText.format(1e-5) == "1e-05")
        #expect(PrometheusText.format(.infinity) == "+Inf")
        #expect(PrometheusText.format(-.infinity) == "-Inf")
        #expect(PrometheusText.format(.nan) == "NaN")
        #expect(Double(PrometheusText.format(1e300)) == 1e300)
    }

    @Test("metric names may contain colons; label names may not, nor start with __")
    func names() {
        #expect(PrometheusText.isValidMetricName("pangu:num_requests_running"))
        #expect(PrometheusText.isValidMetricName(":a_1"))
        #expect(!PrometheusText.isValidMetricName("1abc"))
        #expect(!PrometheusText.isValidMetricName("a-b"))
        #expect(!PrometheusText.isValidMetricName(""))
        #expect(PrometheusText.isValidLabelName("model_name"))
        #expect(!PrometheusText.isValidLabelName("__name"))
        #expect(!PrometheusText.isValidLabelName("a:b"))
    }
}
