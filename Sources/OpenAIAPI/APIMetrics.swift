import Engine
import HTTPServer
import Synchronization
import Telemetry

/// The `pangu:` metric families (names mirror vLLM's `vllm:` ones), registered once per registry by
/// `OpenAIRoutes.install`: engine gauges and counters read from `EngineStats` at scrape time, latency and
/// size histograms fed from each finished request's `RequestOutput`, and HTTP request counts.
///
/// Every family has the `model_name` label; per-device gauges add `device` (the worker name).
final class APIMetrics: Sendable {
    static let prefix = "pangu:"
    let modelName: String
    private let engine: EngineClient
    /// The KV cache's element type (`cache_config_info{cache_dtype}`).
    private let cacheDType: String
    private let timeToFirstToken: Histogram.Child
    private let interTokenLatency: Histogram.Child
    private let e2eLatency: Histogram.Child
    private let queueTime: Histogram.Child
    private let prefillTime: Histogram.Child
    private let decodeTime: Histogram.Child
    private let promptTokens: Histogram.Child
    private let generationTokens: Histogram.Child
    private let iterationTokens: Histogram.Child
    private let httpRequests: Counter
    /// Step counter already sampled into `iteration_tokens_total`, per loop.
    private let sampledSteps: Mutex<[Int]>

    init(registry: MetricsRegistry, engine: EngineClient, modelName: String, cacheDType: String = "f16") {
        self.modelName = modelName
        self.engine = engine
        self.cacheDType = cacheDType
        let p = Self.prefix
        let model = [modelName]
        let latency: [Double] = [
            0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 10, 20, 40, 80,
        ]
        let tokens: [Double] = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000]
        func histogram(_ name: String, _ help: String, _ buckets: [Double]) -> Histogram.Child {
            registry.histogram(name: p + name, help: help, buckets: buckets, labelNames: ["model_name"]).labels(model)
        }
        timeToFirstToken = histogram("time_to_first_token_seconds", "Time to first token (s).", latency)
        interTokenLatency = histogram("inter_token_latency_seconds", "Time between output tokens (s).", latency)
        e2eLatency = histogram("e2e_request_latency_seconds", "Arrival to finish (s).", latency)
        queueTime = histogram("request_queue_time_seconds", "Time waiting before first schedule (s).", latency)
        prefillTime = histogram("request_prefill_time_seconds", "First schedule to first token (s).", latency)
        decodeTime = histogram("request_decode_time_seconds", "First token to last token (s).", latency)
        promptTokens = histogram("request_prompt_tokens", "Prompt tokens per request.", tokens)
        generationTokens = histogram("request_generation_tokens", "Generated tokens per request.", tokens)
        iterationTokens = histogram(
            "iteration_tokens_total", "Tokens scheduled in an engine step (sampled at scrape time).", tokens)
        httpRequests = registry.counter(
            name: p + "http_requests", help: "HTTP requests by method, route and status.",
            labelNames: ["method", "route", "status"])
        sampledSteps = Mutex(engine.loops.map { _ in 0 })
        registerEngineCollectors(registry)
        registerDeviceCollectors(registry)
    }

    private func registerEngineCollectors(_ registry: MetricsRegistry) {
        let p = Self.prefix
        let engine = self.engine
        let model = modelName
        func collect(
            _ name: String, _ help: String, _ type: MetricType, _ value: @escaping @Sendable (EngineStats) -> Double
        ) {
            registry.collector(name: p + name, help: help, type: type, labelNames: ["model_name"]) {
                [CollectedSample(labelValues: [model], value: value(engine.combinedStats))]
            }
        }
        collect("num_requests_running", "Requests running on the engine.", .gauge) { Double($0.numRunning) }
        collect("num_requests_waiting", "Requests waiting to be scheduled.", .gauge) { Double($0.numWaiting) }
        collect("kv_cache_usage_perc", "Fraction of KV cache blocks in use (0-1).", .gauge) { $0.kvCacheUsage }
        collect("prompt_tokens", "Prompt tokens processed.", .counter) { Double($0.numPromptTokensTotal) }
        collect("generation_tokens", "Tokens generated.", .counter) { Double($0.numGenerationTokensTotal) }
        collect("num_preemptions", "Preemptions.", .counter) { Double($0.numPreemptionsTotal) }
        collect("prefix_cache_queries", "Prompt tokens looked up in the prefix cache.", .counter) {
            Double($0.prefixCacheQueries)
        }
        collect("prefix_cache_hits", "Prompt tokens found in the prefix cache.", .counter) {
            Double($0.prefixCacheHits)
        }
        collect("spec_decode_num_draft_tokens", "Draft tokens proposed (speculative decoding).", .counter) {
            Double($0.numDraftTokensTotal)
        }
        collect("spec_decode_num_accepted_tokens", "Draft tokens accepted (speculative decoding).", .counter) {
            Double($0.numAcceptedDraftTokensTotal)
        }
        registry.collector(
            name: p + "request_success", help: "Finished requests by finish reason.", type: .counter,
            labelNames: ["model_name", "finished_reason"]
        ) {
            let finished = engine.combinedStats.numFinishedByReason
            return [FinishReason.stop, .length, .abort, .error].map { reason in
                CollectedSample(labelValues: [model, reason.rawValue], value: Double(finished[reason] ?? 0))
            }
        }
        let blockSize = engine.loops.first?.config.blockSize ?? 0
        let numBlocks = engine.loops.first?.config.numBlocks ?? 0
        registry.collector(
            name: p + "cache_config_info", help: "KV cache configuration (value 1).", type: .gauge,
            labelNames: ["model_name", "block_size", "num_gpu_blocks", "cache_dtype"]
        ) { [cacheDType] in
            [CollectedSample(labelValues: [model, String(blockSize), String(numBlocks), cacheDType], value: 1)]
        }
    }

    private func registerDeviceCollectors(_ registry: MetricsRegistry) {
        let p = Self.prefix
        let engine = self.engine
        let model = modelName
        func perDevice(_ name: String, _ help: String, _ value: @escaping @Sendable (EngineStats) -> Double) {
            registry.collector(name: p + name, help: help, type: .gauge, labelNames: ["model_name", "device"]) {
                engine.stats.map { CollectedSample(labelValues: [model, $0.workerName], value: value($0)) }
            }
        }
        perDevice("device_num_requests_running", "Requests running on one device.") { Double($0.numRunning) }
        perDevice("device_num_requests_waiting", "Requests waiting for one device.") { Double($0.numWaiting) }
        perDevice("device_kv_cache_usage_perc", "Fraction of one device's KV blocks in use.") { $0.kvCacheUsage }
    }

    /// Records the gap since the request's previous output (inter-token latency).
    func observeOutput(_ output: RequestOutput, previousTimestamp: Double?) {
        guard let previousTimestamp, !output.newTokenIDs.isEmpty else { return }
        interTokenLatency.observe(max(0, output.timestamp - previousTimestamp))
    }

    /// Records a finished request's latencies and sizes.
    func observeFinished(_ output: RequestOutput) {
        let timings = output.timings
        if let value = timings.timeToFirstToken { timeToFirstToken.observe(value) }
        if let value = timings.e2eLatency { e2eLatency.observe(value) }
        if let value = timings.queueTime { queueTime.observe(value) }
        if let value = timings.prefillTime { prefillTime.observe(value) }
        if let value = timings.decodeTime { decodeTime.observe(value) }
        promptTokens.observe(Double(output.numPromptTokens))
        generationTokens.observe(Double(output.numOutputTokens))
    }

    /// Called per scrape: samples each loop's latest step size when the loop stepped since the last scrape.
    func sampleIterationTokens() {
        let stats = engine.stats
        sampledSteps.withLock { steps in
            for (index, item) in stats.enumerated() where index < steps.count && item.numStepsTotal > steps[index] {
                steps[index] = item.numStepsTotal
                iterationTokens.observe(Double(item.numTokensLastStep))
            }
        }
    }

    /// The HTTP middleware counting requests by method, route and status.
    var httpMiddleware: HTTPMiddleware {
        let counter = httpRequests
        return HTTPMiddleware.metrics { sample in
            counter.labels(sample.method, sample.route, String(sample.status)).inc()
        }
    }
}
