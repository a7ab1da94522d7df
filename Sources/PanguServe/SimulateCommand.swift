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
        let utilization = try options.double("npuMemoryUtilization") ?? 0.9
        let catalog = try NPUProfileDirectory.catalog(options.string("npuProfilesDir"))
        let setup = Setup(
            maxNumBatchedTokens: try positive("maxNumBatchedTokens") ?? 2048,
            blockSize: try positive("blockSize") ?? 16,
            npuMemoryUtilization: utilization)
        let result: Result
        do {
            let shape = try DecoderShape(huggingFaceConfigJSON: data)
            result = try simulate(
                shape: shape, profile: catalog.profile(named: profileName), numCards: numCards, workload: workload,
                setup: setup)
        } catch let error as CLIError {
            throw error
        } catch {
            throw CLIError("simulate: \(error)")
        }
        print(try options.bool("json") ? json(result) : table(result))
    }

    /// Engine knobs of a simulation.
    struct Setup {
        var maxNumBatchedTokens = 2048
        var blockSize = 16
        var npuMemoryUtilization = 0.9
    }

    /// A finished simulation with what it ran on.
    struct Result {
        let report: NPUSimulationReport
        let group: NPUDeviceGroup
        let workload: NPUSimulation.Workload
        let numKVBlocks: Int
        let blockSize: Int
        /// The estimator's decode step at batch = concurrency, mid-output context, seconds.
        let decodeStepSeconds: Double
    }

    /// Runs `workload` on `numCards` × `profile` holding `shape`.
    static func simulate(
        shape: DecoderShape, profile: ChipProfile, numCards: Int, workload: NPUSimulation.Workload, setup: Setup
    ) throws -> Result {
        let group = try NPUDeviceGroup(
            name: "npu0", profile: profile, shape: shape, tensorParallelSize: numCards,
            npuMemoryUtilization: setup.npuMemoryUtilization)
        var config = EngineConfig(numBlocks: group.numKVBlocks(blockSize: setup.blockSize))
        config.blockSize = setup.blockSize
        config.maxNumSeqs = workload.concurrency
        config.maxNumBatchedTokens = max(setup.maxNumBatchedTokens, workload.concurrency)
        config.maxModelLen = workload.inputLen + workload.outputLen
        config.enablePrefixCaching = false
        config.maxNumWaitingRequests = max(config.maxNumWaitingRequests, workload.concurrency)
        config.maxNumWaitingTokens = max(config.maxNumWaitingTokens, workload.concurrency * workload.inputLen)
        let core = try EngineCore(
            config: config, worker: NPUTimingWorker(deviceGroup: group),
            tokenizer: SimulationTokenizer(vocabSize: shape.vocabSize), eosTokenIDs: [],
            clock: { group.clock.reading.simulatedSeconds })
        let report = try NPUSimulation.run(core: core, group: group, workload: workload, vocabSize: shape.vocabSize)
        let decode = try group.estimator.stepSeconds(
            .decode(
                numSeqs: min(workload.concurrency, workload.numRequests),
                contextLength: workload.inputLen + workload.outputLen / 2))
        return Result(
            report: report, group: group, workload: workload, numKVBlocks: config.numBlocks,
            blockSize: config.blockSize, decodeStepSeconds: decode)
    }
}
