import Foundation

/// Every knob of `pangu-serve serve`: one table for flags (`--max-num-seqs`),
/// environment variables (`PANGU_SERVE_MAX_NUM_SEQS`), JSON config keys
/// (`maxNumSeqs`) and `--help`. Precedence: flags > env > file > defaults.
enum ServeOptions {
    /// `--activations`, shared with `generate`.
    static let activations = OptionSpec(
        name: "activations",
        help:
            "bf16 or f32: against bf16 weights, bf16 rounds the activations to bf16 and multiplies on AVX-512 BF16 (vdpbf16ps, as llama.cpp and vLLM compute bf16 models): about 1.8x the prefill and 1.1x the decode of f32, logits about 0.5 % off an f32 reference, which f32 matches to 1e-4",
        unit: "type", defaultValue: "bf16")

    static let specs: [OptionSpec] = [
        OptionSpec(name: "config", help: "JSON config file (keys are the option names in camelCase)", unit: "file"),
        OptionSpec(
            name: "model", help: "model directory (config.json, safetensors, tokenizer) or .gguf file", unit: "path",
            defaultDescription: "the embedded pangu-tiny-shakespeare"),
        OptionSpec(
            name: "quantize",
            help:
                "none, q8_0 or q4_0 (quantize the projection matrices of a f32/f16/bf16 checkpoint at load to GGUF's Q8_0, about half the bytes of bf16, or Q4_0, about a quarter)",
            unit: "mode", defaultValue: "none"),
        activations,
        OptionSpec(
            name: "servedModelName", help: "model name clients send and see", unit: "name",
            defaultDescription: "the model directory's name"),
        OptionSpec(name: "host", help: "address to listen on (IPv4 or IPv6)", unit: "addr", defaultValue: "127.0.0.1"),
        OptionSpec(name: "port", help: "TCP port to listen on", unit: "port", defaultValue: "8000"),
        OptionSpec(
            name: "devices",
            help:
                "device workers: cpu, cpu:N (N data-parallel CPU workers), npu:PROFILE (a simulated Ascend card, e.g. npu:910B3), npu:PROFILExN (N cards in tensor parallel); comma-separated to mix",
            unit: "list",
            defaultValue: "cpu"),
        OptionSpec(
            name: "npuMemoryUtilization",
            help: "share of each simulated NPU's device memory left after the weights that the KV cache takes",
            unit: "0..1", defaultValue: "0.9"),
        OptionSpec(
            name: "expertParallel",
            help:
                "on an npu:PROFILExN worker with a MoE model, spread the routed expert groups across its N cards (expert parallelism)",
            isSwitch: true),
        OptionSpec(
            name: "npuPacing",
            help: "none (report the simulated chip time) or realtime (each step lasts at least the chip's time)",
            unit: "mode", defaultValue: "none"),
        OptionSpec(
            name: "npuProfilesDir", help: "directory of NPU chip profiles (*.json)", unit: "dir",
            defaultDescription: "Config/devices next to the executable or in the package"),
        OptionSpec(
            name: "threads", help: "kernel threads in total, split between CPU workers", unit: "int",
            defaultDescription: "all cores"),
        OptionSpec(name: "maxNumSeqs", help: "maximum running requests per worker", unit: "seqs", defaultValue: "64"),
        OptionSpec(
            name: "maxNumBatchedTokens", help: "token budget of one engine step", unit: "tokens",
            defaultValue: "512"),
        OptionSpec(
            name: "maxModelLen", help: "longest prompt + output", unit: "tokens",
            defaultDescription: "the model's max_position_embeddings"),
        OptionSpec(name: "blockSize", help: "tokens per KV cache block", unit: "tokens", defaultValue: "16"),
        OptionSpec(
            name: "kvCacheBytes", help: "KV cache memory in total, split between workers", unit: "bytes",
            defaultDescription: "--kv-cache-memory-fraction of available memory"),
        OptionSpec(
            name: "kvCacheMemoryFraction",
            help:
                "share of available memory for the KV cache when --kv-cache-bytes is unset (capped at what max-num-seqs × max-model-len needs)",
            unit: "0..1", defaultValue: "0.2"),
        OptionSpec(
            name: "kvCacheDtype",
            help: "element type of the KV cache: f16 (half the memory of f32, as llama.cpp keeps it), bf16 or f32",
            unit: "type", defaultValue: "f16"),
        OptionSpec(
            name: "enablePrefixCaching", help: "reuse KV blocks of shared prompt prefixes", unit: "bool",
            defaultValue: "true"),
        OptionSpec(name: "schedulingPolicy", help: "fcfs or priority", unit: "policy", defaultValue: "fcfs"),
        OptionSpec(
            name: "maxNumWaitingRequests", help: "waiting-queue bound; beyond it requests get 429",
            unit: "requests", defaultValue: "1024"),
        OptionSpec(
            name: "numSpeculativeTokens",
            help:
                "speculative decoding by prompt lookup: up to this many draft tokens per step, copied from where the request's last tokens occurred before in its prompt or output and verified in the same forward pass (0 = off)",
            unit: "tokens", defaultValue: "0"),
        OptionSpec(
            name: "promptLookupMin", help: "shortest n-gram looked up for drafts", unit: "tokens", defaultValue: "2"),
        OptionSpec(
            name: "promptLookupMax", help: "longest n-gram looked up for drafts (tried first)", unit: "tokens",
            defaultValue: "4"),
        OptionSpec(
            name: "speculativeDisableByBatchSize",
            help: "no drafts while more requests than this run on a worker (0 = no limit)", unit: "requests",
            defaultValue: "8"),
        OptionSpec(
            name: "apiKey", help: "require 'Authorization: Bearer KEY' (health, ready, metrics stay open)",
            unit: "key"),
        OptionSpec(
            name: "allowedOrigins", help: "CORS origins, comma-separated, * for any", unit: "list",
            defaultValue: "*"),
        OptionSpec(name: "tlsCertFile", help: "PEM certificate chain; with --tls-key-file serves HTTPS", unit: "file"),
        OptionSpec(name: "tlsKeyFile", help: "PEM private key", unit: "file"),
        OptionSpec(
            name: "drainTimeout", help: "on SIGTERM, how long in-flight requests may finish", unit: "seconds",
            defaultValue: "30"),
        OptionSpec(name: "logFormat", help: "text or json", unit: "format", defaultValue: "text"),
        OptionSpec(name: "logLevel", help: "trace, debug, info, warning or error", unit: "level", defaultValue: "info"),
        OptionSpec(name: "help", help: "show this help", isSwitch: true),
    ]

    /// Resolves options from the command line, `PANGU_SERVE_*` and the `--config` file.
    static func parse(_ arguments: [String], environment: [String: String]) throws(CLIError) -> OptionValues {
        let first = try OptionValues(arguments: arguments, specs: specs, environment: environment)
        guard let path = first.string("config") else { return first }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CLIError("invalid value for --config: cannot read \(path)")
        }
        guard let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw CLIError("invalid value for --config: \(path) is not a JSON object")
        }
        return try OptionValues(arguments: arguments, specs: specs, environment: environment, configFile: object)
    }
}
