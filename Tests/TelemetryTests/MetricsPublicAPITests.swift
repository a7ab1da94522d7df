import Telemetry
import Testing

/// Uses only the public API (no `@testable`), as the HTTP server and engine will.
@Test("the public API registers, updates and renders every metric type")
func metricsPublicAPI() {
    let registry = MetricsRegistry()
    let requests = registry.counter(name: "pangu:request_success", help: "Requests.", labelNames: ["finished_reason"])
    let stop = requests.labels("stop")
    stop.inc()
    let running = registry.gauge(name: "pangu:num_requests_running", help: "Running.")
    running.set(2)
    let ttft = registry.histogram(name: "pangu:time_to_first_token_seconds", help: "TTFT.", buckets: [0.1])
    ttft.observe(0.05)
    registry.collector(name: "pangu:num_requests_waiting", help: "Waiting.", type: .gauge) { 3 }
    let output = registry.render()
    #expect(output.contains("pangu:request_success_total{finished_reason=\"stop\"} 1\n"))
    #expect(output.contains("pangu:num_requests_running 2\n"))
    #expect(output.contains("pangu:time_to_first_token_seconds_bucket{le=\"0.1\"} 1\n"))
    #expect(output.contains("pangu:num_requests_waiting 3\n"))
    #expect(stop.value == 1 && running.value == 2 && ttft.labels().count == 1)
    #expect(MetricsRegistry.contentType.hasPrefix("text/plain; version=0.0.4"))
}
