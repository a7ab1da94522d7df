import Devices
import Engine
import Foundation
import HTTPServer
import Models
import Telemetry
import Tensors

/// The daemon's settings, typed and validated from `ServeOptions`; an invalid
/// value is a `CLIError` naming the option (exit status 2).
struct ServeConfig {
    var modelPath: String?
    var servedModelName: String?
    /// Load-time weight quantization (`--quantize`): none, q8_0 or q4_0.
    var quantization = WeightQuantization.none
    /// bf16 activations against bf16 weights on the CPU workers (`--activations`, default bf16).
    var bf16Activations = true
    var http = HTTPServerConfig()
    var devices: [DeviceSpec] = [.cpu(count: 1)]
    /// Share (0, 1] of each NPU card's memory left after the weights that the KV cache takes.
    var npuMemoryUtilization = 0.9
    var npuPacing = NPUPacing.none
    /// Expert parallelism on multi-card NPU workers serving a MoE model (`--expert-parallel`).
    var enableExpertParallel = false
    /// Directory of chip profiles; nil = search (see `NPUProfileDirectory`).
    var npuProfilesDir: String?
    var threads: Int = ProcessInfo.processInfo.activeProcessorCount
    var maxNumSeqs = 64
    var maxNumBatchedTokens = 512
    var maxModelLen: Int?
    var blockSize = 16
    var kvCacheBytes: Int?
    var kvCacheMemoryFraction = 0.2
    /// Element type of every worker's KV cache (`--kv-cache-dtype`).
    var kvCacheDType = DType.f16
    var enablePrefixCaching = true
    var schedulingPolicy = SchedulingPolicy.fcfs
    var maxNumWaitingRequests = 1024
    /// Speculative decoding by prompt lookup (`--num-speculative-tokens`, 0 = off; n-gram sizes).
    var numSpeculativeTokens = 0
    var promptLookupMin = 2
    var promptLookupMax = 4
    var speculativeDisableByBatchSize = 8
    var apiKey: String?
    var allowedOrigins = ["*"]
    var drainTimeout: Duration = .seconds(30)
    var logFormat = LogFormat.text
    var logLevel = LogLevel.info

    init(_ o: OptionValues) throws(CLIError) {
        func positive(_ name: String, _ value: Int?) throws(CLIError) -> Int? {
            if let value, value < 1 { throw CLIError("invalid value for --\(OptionSpec.kebab(name)): must be >= 1") }
            return value
        }
        modelPath = o.string("model")
        servedModelName = o.string("servedModelName")
        quantization = try Self.quantization(o.string("quantize"))
        bf16Activations = try Self.bf16Activations(o.string("activations"))
        http.host = o.string("host") ?? "127.0.0.1"
        let port = try o.int("port") ?? 8000
        guard (0...65535).contains(port) else {
            throw CLIError("invalid value for --port: \(port) is not in 0...65535")
        }
        http.port = port
        http.tlsCertFile = o.string("tlsCertFile")
        http.tlsKeyFile = o.string("tlsKeyFile")
        if (http.tlsCertFile == nil) != (http.tlsKeyFile == nil) {
            throw CLIError("invalid value for --tls-cert-file/--tls-key-file: give both or neither")
        }
        devices = try DeviceSpec.parse(o.string("devices") ?? "cpu")
        npuMemoryUtilization = try o.double("npuMemoryUtilization") ?? npuMemoryUtilization
        guard npuMemoryUtilization > 0, npuMemoryUtilization <= 1 else {
            throw CLIError("invalid value for --npu-memory-utilization: must be in (0, 1]")
        }
        let pacing = o.string("npuPacing") ?? "none"
        guard let parsedPacing = NPUPacing(rawValue: pacing) else {
            throw CLIError("invalid value for --npu-pacing: '\(pacing)' (expected none or realtime)")
        }
        npuPacing = parsedPacing
        enableExpertParallel = try o.bool("expertParallel")
        npuProfilesDir = o.string("npuProfilesDir")
        threads = try positive("threads", o.int("threads")) ?? threads
        maxNumSeqs = try positive("maxNumSeqs", o.int("maxNumSeqs")) ?? maxNumSeqs
        maxNumBatchedTokens = try positive("maxNumBatchedTokens", o.int("maxNumBatchedTokens")) ?? maxNumBatchedTokens
        maxModelLen = try positive("maxModelLen", o.int("maxModelLen"))
        blockSize = try positive("blockSize", o.int("blockSize")) ?? blockSize
        kvCacheBytes = try positive("kvCacheBytes", o.int("kvCacheBytes"))
        kvCacheMemoryFraction = try o.double("kvCacheMemoryFraction") ?? kvCacheMemoryFraction
        kvCacheDType = try Self.kvCacheDType(o.string("kvCacheDtype"))
        guard kvCacheMemoryFraction > 0, kvCacheMemoryFraction <= 1 else {
            throw CLIError("invalid value for --kv-cache-memory-fraction: must be in (0, 1]")
        }
        enablePrefixCaching = try o.bool("enablePrefixCaching")
        let policy = o.string("schedulingPolicy") ?? "fcfs"
        guard let parsedPolicy = SchedulingPolicy(rawValue: policy) else {
            throw CLIError("invalid value for --scheduling-policy: '\(policy)' (expected fcfs or priority)")
        }
        schedulingPolicy = parsedPolicy
        maxNumWaitingRequests =
            try positive("maxNumWaitingRequests", o.int("maxNumWaitingRequests")) ?? maxNumWaitingRequests
        numSpeculativeTokens = try o.int("numSpeculativeTokens") ?? 0
        guard (0...16).contains(numSpeculativeTokens) else {
            throw CLIError("invalid value for --num-speculative-tokens: must be in 0...16")
        }
        promptLookupMin = try positive("promptLookupMin", o.int("promptLookupMin")) ?? promptLookupMin
        promptLookupMax = try positive("promptLookupMax", o.int("promptLookupMax")) ?? promptLookupMax
        guard promptLookupMin <= promptLookupMax else {
            throw CLIError("invalid value for --prompt-lookup-min: must not exceed --prompt-lookup-max")
        }
        speculativeDisableByBatchSize = try o.int("speculativeDisableByBatchSize") ?? speculativeDisableByBatchSize
        guard speculativeDisableByBatchSize >= 0 else {
            throw CLIError("invalid value for --speculative-disable-by-batch-size: must be >= 0")
        }
        apiKey = o.string("apiKey")
        allowedOrigins = (o.string("allowedOrigins") ?? "*").split(separator: ",").map {
            $0.trimmingCharacters(in: .whitespaces)
        }
        let drain = try o.double("drainTimeout") ?? 30
        guard drain >= 0 else { throw CLIError("invalid value for --drain-timeout: must be >= 0") }
        drainTimeout = .milliseconds(Int(drain * 1000))
        let format = o.string("logFormat") ?? "text"
        guard let parsedFormat = LogFormat(rawValue: format) else {
            throw CLIError("invalid value for --log-format: '\(format)' (expected text or json)")
        }
        logFormat = parsedFormat
        let level = o.string("logLevel") ?? "info"
        guard let parsedLevel = LogLevel(name: level) else {
            throw CLIError("invalid value for --log-level: '\(level)' (expected trace, debug, info, warning or error)")
        }
        logLevel = parsedLevel
        if DeviceSpec.numWorkers(devices) > threads {
            throw CLIError(
                "invalid value for --devices: \(DeviceSpec.numWorkers(devices)) workers need at least as many --threads"
            )
        }
    }

    /// Parses `--quantize` (absent = none).
    static func quantization(_ value: String?) throws(CLIError) -> WeightQuantization {
        guard let value else { return .none }
        guard let mode = WeightQuantization(rawValue: value) else {
            throw CLIError(
                "invalid value for --quantize: '\(value)' (expected none, q8_0 or q4_0; Q4_K / Q6_K are load-only, from a GGUF file that has them)"
            )
        }
        return mode
    }

    /// Parses `--activations` (absent = bf16): whether bf16 weights meet bf16 activations.
    static func bf16Activations(_ value: String?) throws(CLIError) -> Bool {
        switch value?.lowercased() ?? "bf16" {
        case "bf16": return true
        case "f32": return false
        default: throw CLIError("invalid value for --activations: '\(value ?? "")' (expected bf16 or f32)")
        }
    }

    /// Parses `--kv-cache-dtype` (absent = f16).
    static func kvCacheDType(_ value: String?) throws(CLIError) -> DType {
        guard let value else { return .f16 }
        guard let dtype = DType(rawValue: value.uppercased()), DType.floatingPointCases.contains(dtype) else {
            throw CLIError("invalid value for --kv-cache-dtype: '\(value)' (expected f16, bf16 or f32)")
        }
        return dtype
    }

    /// KV cache bytes per worker: `--kv-cache-bytes` split evenly, or a share of
    /// available memory capped at what `maxNumSeqs` full-length sequences need.
    func kvCacheBytesPerWorker(bytesPerToken: Int, maxModelLen: Int) -> Int {
        let numWorkers = DeviceSpec.numWorkers(devices)
        if let kvCacheBytes { return kvCacheBytes / numWorkers }
        let available = Double(SystemMemory.availableBytes() ?? (4 << 30))
        let byFraction = Int(available * kvCacheMemoryFraction) / numWorkers
        let needed = bytesPerToken * (maxNumSeqs * maxModelLen + blockSize)
        return min(byFraction, needed)
    }
}

/// Reads the host's available memory (Linux `/proc/meminfo`).
enum SystemMemory {
    static func availableBytes() -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("MemAvailable:") {
            let fields = line.split(separator: " ")
            if fields.count >= 2, let kib = Int(fields[1]) { return kib * 1024 }
        }
        return nil
    }
}
