import Devices
import Engine
import Foundation
import Tokenizers

/// `pangu-serve simulate`: predicts latency and throughput of a model on
/// simulated Ascend cards without weights or math. The real scheduler
/// (`EngineCore`) runs on virtual time (the device group's clock) against
/// an `NPUTimingWorker`, with a closed loop of `--concurrency` clients.
enum SimulateCommand {
    static let specs: [OptionSpec] = [
        OptionSpec(name: "modelConfig", help: "the model's Hugging Face config.json", unit: "file"),
        OptionSpec(
            name: "devices", help: "one NPU worker: npu:PROFILE or npu:PROFILExN (N cards in tensor parallel)",
            unit: "device", defaultValue: "npu:910B2"),
        OptionSpec(name: "inputLen", help: "prompt tokens per request", unit: "tokens", defaultValue: "2048"),
        OptionSpec(name: "outputLen", help: "generated tokens per request", unit: "tokens", defaultValue: "256"),
        OptionSpec(
            name: "concurrency", help: "requests in flight (a new one arrives when one finishes)",
            unit: "requests", defaultValue: "64"),
        OptionSpec(
            name: "numRequests", help: "requests in total", unit: "requests",
            defaultDescription: "2 × concurrency"),
        OptionSpec(
            name: "maxNumBatchedTokens", help: "token budget of one engine step", unit: "tokens",
            defaultValue: "2048"),
        OptionSpec(name: "blockSize", help: "tokens per KV cache block", unit: "tokens", defaultValue: "16"),
        OptionSpec(
            name: "npuMemoryUtilization", help: "share of device memory left after the weights for the KV cache",
            unit: "0..1", defaultValue: "0.9"),
        OptionSpec(
            name: "npuProfilesDir", help: "directory of NPU chip profiles (*.json)", unit: "dir",
            defaultDescription: "Config/devices next to the executable or in the package"),
        OptionSpec(
            name: "weightDtype", help: "linear-layer weights: w8a8 (int8 weights and activations), bf16 or fp16",
            unit: "dtype", defaultDescription: "the config's quantization_config, else torch_dtype"),
        OptionSpec(
            name: "attentionParallel",
            help: "attention across the cards: tp (one tensor-parallel instance) or dp (one instance per card)",
            unit: "tp|dp", defaultValue: "tp"),
        OptionSpec(
            name: "expertParallel",
            help: "spread the routed experts across the cards (all-to-all dispatch and combine)",
            isSwitch: true),
        OptionSpec(
            name: "maxTpotMs", help: "search the largest concurrency whose mean TPOT stays within this bound",
            unit: "ms"),
        OptionSpec(
            name: "maxConcurrency", help: "upper end of the --max-tpot-ms search", unit: "requests",
            defaultValue: "1024"),
        OptionSpec(name: "json", help: "print one JSON object instead of a table", isSwitch: true),
        OptionSpec(name: "help", help: "show this help", isSwitch: true),
    ]

    static func run(_ arguments: [String]) throws(CLIError) {
        let options = try OptionValues(arguments: arguments, specs: specs)
        if try options.bool("help") {
            print(
                OptionValues.help(
                    usage:
                        "usage: pangu-serve simulate --model-config PATH/config.json [--devices npu:910B2x8] [options]",
                    specs: specs))
            return
        }
        guard let path = options.string("modelConfig") else { throw CLIError("give --model-config PATH/config.json") }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CLIError("invalid value for --model-config: cannot read \(path)")
        }
        let devices = try DeviceSpec.parse(options.string("devices") ?? "npu:910B2")
        guard devices.count == 1, case .npu(let profileName, let numCards) = devices[0] else {
            throw CLIError("invalid value for --devices: simulate takes one npu:PROFILE or npu:PROFILExN entry")
        }
        func positive(_ name: String) throws(CLIError) -> Int? {
            let value = try options.int(name)
            if let value, value < 1 { throw CLIError("invalid value for --\(OptionSpec.kebab(name)): must be >= 1") }
            return value
        }
        let concurrency = try positive("concurrency") ?? 64
        let workload = NPUSimulation.Workload(
            inputLen: try positive("inputLen") ?? 2048, outputLen: try positive("outputLen") ?? 256,
            concurrency: concurrency, numRequests: try positive("numRequests"))
        let catalog = try NPUProfileDirectory.catalog(options.string("npuProfilesDir"))
        let setup = try parseSetup(options, positive: positive)
        let maxTPOTMs = try options.double("maxTpotMs")
        if let maxTPOTMs, !(maxTPOTMs > 0) { throw CLIError("invalid value for --max-tpot-ms: must be > 0") }
        let output: String
        do {
            let profile = try catalog.profile(named: profileName)
            let shape = try deviceShape(data, weightDType: try weightDType(options), profile: profile)
            if let maxTPOTMs {
                let search = try searchMaxConcurrency(
                    maxTPOTSeconds: maxTPOTMs / 1000, maxConcurrency: try positive("maxConcurrency") ?? 1024,
                    step: setup.attentionParallel == .dp ? numCards : 1
                ) { c in
                    var w = workload
                    w.concurrency = c
                    w.numRequests = try positive("numRequests") ?? 2 * c
                    return try simulate(shape: shape, profile: profile, numCards: numCards, workload: w, setup: setup)
                }
                output = try options.bool("json") ? json(search) : table(search)
            } else {
                let result = try simulate(
                    shape: shape, profile: profile, numCards: numCards, workload: workload, setup: setup)
                output = try options.bool("json") ? json(result) : table(result)
            }
        } catch let error as CLIError {
            throw error
        } catch {
            throw CLIError("simulate: \(error)")
        }
        print(output)
    }

    static func parseSetup(_ options: OptionValues, positive: (String) throws(CLIError) -> Int?) throws(CLIError)
        -> Setup
    {
        let attention = options.string("attentionParallel") ?? "tp"
        guard let layout = Setup.AttentionParallel(rawValue: attention) else {
            throw CLIError("invalid value for --attention-parallel: \(attention) (one of: tp, dp)")
        }
        return Setup(
            maxNumBatchedTokens: try positive("maxNumBatchedTokens") ?? 2048,
            blockSize: try positive("blockSize") ?? 16,
            npuMemoryUtilization: try options.double("npuMemoryUtilization") ?? 0.9, attentionParallel: layout,
            enableExpertParallel: try options.bool("expertParallel"))
    }

    /// The config's shape on `profile`: a chip without the config's
    /// activation type (310P3: no bf16) runs it in its own (fp16).
    static func deviceShape(_ data: Data, weightDType: NPUDType?, profile: ChipProfile) throws -> DecoderShape {
        var shape = try DecoderShape(huggingFaceConfigJSON: data, weightDType: weightDType)
        let dtype = NPUDType.deviceDType(checkpoint: shape.activationDType.rawValue, profile: profile)
        if shape.weightDType == shape.activationDType { shape.weightDType = dtype }
        shape.activationDType = dtype
        return shape
    }

    static func weightDType(_ options: OptionValues) throws(CLIError) -> NPUDType? {
        guard let name = options.string("weightDtype") else { return nil }
        switch name.lowercased() {
        case "w8a8", "int8": return .int8
        case "bf16", "bfloat16": return .bf16
        case "fp16", "float16": return .fp16
        default: throw CLIError("invalid value for --weight-dtype: \(name) (one of: w8a8, bf16, fp16)")
        }
    }

    /// Engine knobs of a simulation.
    struct Setup {
        var maxNumBatchedTokens = 2048
        var blockSize = 16
        var npuMemoryUtilization = 0.9
        /// How attention is split across the cards.
        var attentionParallel = AttentionParallel.tp
        /// Routed experts spread across all cards (expert parallelism).
        var enableExpertParallel = false

        /// tp: one model instance tensor-parallel over all cards; dp: one
        /// instance per card (attention and shared weights replicated), each
        /// with its own batch (simulated as one card, the others symmetric).
        enum AttentionParallel: String { case tp, dp }
    }

    /// A finished simulation with what it ran on.
    struct Result {
        let report: NPUSimulationReport
        let group: NPUDeviceGroup
        let workload: NPUSimulation.Workload
        let numKVBlocks: Int
        let blockSize: Int
        /// The estimator's decode step at one instance's batch, mid-output context, seconds.
        let decodeStepSeconds: Double
        let setup: Setup
        /// Cards in all (data-parallel instances × cards per instance).
        let numCards: Int
        /// Data-parallel instances (1 under TP attention); the simulation runs one.
        let numDataParallelRanks: Int
        /// Pure decode (estimator): one instance's batch / step time / its cards.
        let decodeTokensPerSecondPerCard: Double
        /// Pure prefill (estimator): a step of prompts filling the token budget, input tokens / s / card.
        let prefillTokensPerSecondPerCard: Double

        /// Output tokens per second per card of the mixed simulation.
        var outputTokensPerSecondPerCard: Double { report.outputTokensPerSecondPerCard }
        var outputTokensPerSecond: Double { outputTokensPerSecondPerCard * Double(numCards) }
    }

    /// Runs `workload` on `numCards` × `profile` holding `shape`. Under DP
    /// attention the simulated instance is one card with concurrency
    /// ⌈concurrency / numCards⌉ (and as many requests), its peers symmetric.
    static func simulate(
        shape: DecoderShape, profile: ChipProfile, numCards: Int, workload: NPUSimulation.Workload, setup: Setup
    ) throws -> Result {
        let dp = setup.attentionParallel == .dp ? numCards : 1
        let tp = numCards / dp
        let group = try NPUDeviceGroup(
            name: "npu0", profile: profile, shape: shape, tensorParallelSize: tp,
            expertParallelSize: setup.enableExpertParallel ? numCards : 1,
            npuMemoryUtilization: setup.npuMemoryUtilization)
        var rank = workload
        rank.concurrency = (workload.concurrency + dp - 1) / dp
        rank.numRequests = (workload.numRequests + dp - 1) / dp
        var config = EngineConfig(numBlocks: group.numKVBlocks(blockSize: setup.blockSize))
        config.blockSize = setup.blockSize
        config.maxNumSeqs = rank.concurrency
        config.maxNumBatchedTokens = max(setup.maxNumBatchedTokens, rank.concurrency)
        config.maxModelLen = rank.inputLen + rank.outputLen
        config.enablePrefixCaching = false
        config.maxNumWaitingRequests = max(config.maxNumWaitingRequests, rank.concurrency)
        config.maxNumWaitingTokens = max(config.maxNumWaitingTokens, rank.concurrency * rank.inputLen)
        let core = try EngineCore(
            config: config, worker: NPUTimingWorker(deviceGroup: group),
            tokenizer: SimulationTokenizer(vocabSize: shape.vocabSize), eosTokenIDs: [],
            clock: { group.clock.reading.simulatedSeconds })
        let report = try NPUSimulation.run(core: core, group: group, workload: rank, vocabSize: shape.vocabSize)
        let batch = min(rank.concurrency, rank.numRequests)
        let decode = try group.estimator.stepSeconds(
            .decode(numSeqs: batch, contextLength: rank.inputLen + rank.outputLen / 2))
        let chunk = min(rank.inputLen, setup.maxNumBatchedTokens)
        let prefillBatch = NPUBatch(
            prefillChunks: Array(
                repeating: NPUBatch.PrefillChunk(numNewTokens: chunk), count: max(1, setup.maxNumBatchedTokens / chunk))
        )
        let prefill = try group.estimator.stepSeconds(prefillBatch)
        return Result(
            report: report, group: group, workload: rank, numKVBlocks: config.numBlocks, blockSize: config.blockSize,
            decodeStepSeconds: decode, setup: setup, numCards: numCards, numDataParallelRanks: dp,
            decodeTokensPerSecondPerCard: Double(batch) / decode / Double(tp),
            prefillTokensPerSecondPerCard: Double(prefillBatch.numTokens) / prefill / Double(tp))
    }
}
