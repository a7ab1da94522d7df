import Foundation
import Sampling

/// `pangu-serve bench serve`: drives a running server with N concurrent
/// streaming clients (like `vllm bench serve`) and reports time to first
/// token, inter-token latency percentiles, request and token throughput.
enum BenchServeCommand {
    static let specs: [OptionSpec] = [
        OptionSpec(name: "host", help: "server address (IPv4)", unit: "addr", defaultValue: "127.0.0.1"),
        OptionSpec(name: "port", help: "server port", unit: "port", defaultValue: "8000"),
        OptionSpec(name: "model", help: "model name to send", unit: "name", defaultValue: "pangu-tiny-shakespeare"),
        OptionSpec(name: "concurrency", help: "clients streaming at once", unit: "int", defaultValue: "4"),
        OptionSpec(name: "numRequests", help: "requests in total", unit: "int", defaultValue: "16"),
        OptionSpec(name: "inputLen", help: "prompt length (random token ids)", unit: "tokens", defaultValue: "128"),
        OptionSpec(
            name: "outputLen", help: "generated tokens per request (EOS ignored)", unit: "tokens",
            defaultValue: "64"),
        OptionSpec(
            name: "vocabSize", help: "random prompt ids are drawn below this", unit: "int", defaultValue: "1000"),
        OptionSpec(name: "seed", help: "seed of the random prompts", unit: "int", defaultValue: "0"),
        OptionSpec(name: "json", help: "print the report as JSON", isSwitch: true),
        OptionSpec(name: "help", help: "show this help", isSwitch: true),
    ]

    static func run(_ arguments: [String]) throws(CLIError) {
        let o = try OptionValues(arguments: arguments, specs: specs)
        if try o.bool("help") {
            print(OptionValues.help(usage: "usage: pangu-serve bench serve [options]", specs: specs))
            return
        }
        let client = StreamingClient(host: o.string("host") ?? "127.0.0.1", port: try o.int("port") ?? 8000)
        let concurrency = max(1, try o.int("concurrency") ?? 4)
        let numRequests = max(1, try o.int("numRequests") ?? 16)
        let inputLen = max(1, try o.int("inputLen") ?? 128)
        let outputLen = max(1, try o.int("outputLen") ?? 64)
        let vocab = max(2, try o.int("vocabSize") ?? 1000)
        var rng = SamplerRNG(seed: UInt64(bitPattern: Int64(try o.int("seed") ?? 0)))
        let prompts = (0..<numRequests).map { _ in (0..<inputLen).map { _ in 1 + Int(rng.next() % UInt64(vocab - 1)) } }
        let model = o.string("model") ?? "pangu-tiny-shakespeare"

        let traces = TraceStore(count: numRequests)
        let start = StreamingClient.now()
        let threads = (0..<concurrency).map { _ in
            Thread {
                while true {
                    let index = traces.claim()
                    if index >= numRequests { return }
                    let body: [String: Any] = [
                        "model": model, "prompt": prompts[index], "max_tokens": outputLen, "stream": true,
                        "ignore_eos": true, "temperature": 0, "stream_options": ["include_usage": true],
                    ]
                    traces.set(index, client.post(path: "/v1/completions", json: body))
                }
            }
        }
        threads.forEach { $0.start() }
        while threads.contains(where: { !$0.isFinished }) { usleep(10_000) }
        let report = BenchReport(traces: traces.all, duration: StreamingClient.now() - start, concurrency: concurrency)
        print(try o.bool("json") ? report.json : report.table)
    }
}

/// Results written by the client threads.
final class TraceStore: @unchecked Sendable {
    private let lock = NSLock()
    private var traces: [StreamingClient.Trace?]
    private var nextIndex = 0
    init(count: Int) { traces = Array(repeating: nil, count: count) }
    /// The index of the next request to send.
    func claim() -> Int {
        lock.withLock {
            defer { nextIndex += 1 }
            return nextIndex
        }
    }
    func set(_ i: Int, _ t: StreamingClient.Trace) { lock.withLock { traces[i] = t } }
    var all: [StreamingClient.Trace] { lock.withLock { traces.compactMap { $0 } } }
}
