import Foundation
import Models
import Tensors
import Testing

@testable import PanguServe

/// Configuration precedence (flags > env > file > defaults) and clear errors for bad values.
@Suite("Options") struct OptionTableTests {
    @Test("flags override environment, which overrides the config file, which overrides defaults")
    func precedence() throws {
        let file: [String: Any] = ["maxNumSeqs": 7, "port": 9000, "host": "0.0.0.0"]
        let env = ["PANGU_SERVE_PORT": "9100", "PANGU_SERVE_HOST": "::1"]
        let o = try OptionValues(
            arguments: ["--port", "9200"], specs: ServeOptions.specs, environment: env, configFile: file)
        #expect(try o.int("port") == 9200)
        #expect(o.string("host") == "::1")
        #expect(try o.int("maxNumSeqs") == 7)
        #expect(try o.int("blockSize") == 16)
        let config = try ServeConfig(o)
        #expect(config.http.port == 9200 && config.maxNumSeqs == 7 && config.http.host == "::1")
    }

    @Test("--flag=value, switches and kebab-case names parse")
    func syntax() throws {
        let o = try OptionValues(
            arguments: ["--max-num-batched-tokens=64", "--enable-prefix-caching", "false", "--help"],
            specs: ServeOptions.specs)
        #expect(try o.int("maxNumBatchedTokens") == 64)
        #expect(try o.bool("enablePrefixCaching") == false)
        #expect(try o.bool("help"))
        #expect(OptionSpec(name: "maxNumSeqs", help: "").environmentVariable == "PANGU_SERVE_MAX_NUM_SEQS")
    }

    @Test(
        "invalid values and unknown options name the option",
        arguments: [
            (["--port", "http"], "--port"), (["--max-num-seqs", "0"], "--max-num-seqs"),
            (["--bogus"], "--bogus"), (["--log-format", "xml"], "--log-format"), (["--devices", "gpu"], "--devices"),
            (["--tls-cert-file", "a.pem"], "--tls-cert-file"), (["--port"], "--port"),
            (["--num-speculative-tokens", "17"], "--num-speculative-tokens"),
            (["--prompt-lookup-min", "5"], "--prompt-lookup-min"),
            (["--speculative-disable-by-batch-size", "-1"], "--speculative-disable-by-batch-size"),
        ])
    func invalidValues(arguments: [String], option: String) {
        #expect {
            try ServeConfig(OptionValues(arguments: arguments, specs: ServeOptions.specs))
        } throws: { error in
            (error as? CLIError)?.description.contains(option) == true
        }
    }

    @Test("JSON numbers 0 and 1 in a config file are numbers, and true and false are booleans")
    func jsonZeroAndOne() throws {
        let json = #"{"threads": 1, "numSpeculativeTokens": 0, "enablePrefixCaching": false, "expertParallel": true}"#
        let file = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        let config = try ServeConfig(
            OptionValues(arguments: [], specs: ServeOptions.specs, environment: [:], configFile: file))
        #expect(config.threads == 1 && config.numSpeculativeTokens == 0)
        #expect(!config.enablePrefixCaching && config.enableExpertParallel)
    }

    @Test("an unknown key in the config file is refused")
    func unknownConfigKey() {
        #expect(throws: CLIError.self) {
            try OptionValues(arguments: [], specs: ServeOptions.specs, configFile: ["maxNumSequences": 3])
        }
    }

    @Test("--help lists every option with its default and environment variable")
    func help() {
        let text = OptionValues.help(usage: "usage", specs: ServeOptions.specs, showEnvironment: true)
        for spec in ServeOptions.specs {
            #expect(text.contains(spec.flag))
            #expect(text.contains(spec.environmentVariable))
        }
        #expect(text.contains("[default: 8000]"))
    }

    @Test("device lists parse into workers")
    func devices() throws {
        #expect(try DeviceSpec.parse("cpu") == [.cpu(count: 1)])
        #expect(try DeviceSpec.parse("cpu:2") == [.cpu(count: 2)])
        #expect(DeviceSpec.numWorkers(try DeviceSpec.parse("cpu:2,cpu")) == 3)
        #expect(throws: CLIError.self) { try DeviceSpec.parse("cpu:0") }
    }

    @Test("npu:PROFILE and npu:PROFILExN parse, mix with cpu, and count one worker per entry")
    func npuDevices() throws {
        #expect(try DeviceSpec.parse("npu:910B3") == [.npu(profile: "910B3", numCards: 1)])
        #expect(try DeviceSpec.parse("npu:910B2x4") == [.npu(profile: "910B2", numCards: 4)])
        let mixed = try DeviceSpec.parse("cpu:2, npu:310P3")
        #expect(mixed == [.cpu(count: 2), .npu(profile: "310P3", numCards: 1)])
        #expect(DeviceSpec.numWorkers(mixed) == 3)
        #expect(DeviceSpec.workers(mixed) == [.cpu(count: 1), .cpu(count: 1), .npu(profile: "310P3", numCards: 1)])
        for bad in ["npu", "npu:", "npu:910B2x0"] {
            #expect(throws: CLIError.self, "\(bad)") { try DeviceSpec.parse(bad) }
        }
    }

    @Test("NPU options parse with defaults 0.9 and none, and bad values name the option")
    func npuOptions() throws {
        let defaults = try ServeConfig(OptionValues(arguments: [], specs: ServeOptions.specs))
        #expect(defaults.npuMemoryUtilization == 0.9 && defaults.npuPacing == .none && defaults.npuProfilesDir == nil)
        let set = try ServeConfig(
            OptionValues(
                arguments: ["--npu-memory-utilization", "0.5", "--npu-pacing", "realtime"], specs: ServeOptions.specs,
                environment: ["PANGU_SERVE_NPU_PROFILES_DIR": "/etc/pangu/devices"]))
        #expect(set.npuMemoryUtilization == 0.5 && set.npuPacing == .realtime)
        #expect(set.npuProfilesDir == "/etc/pangu/devices")
        for (arguments, flag) in [
            (["--npu-memory-utilization", "1.5"], "--npu-memory-utilization"),
            (["--npu-pacing", "fast"], "--npu-pacing"),
        ] {
            do {
                _ = try ServeConfig(OptionValues(arguments: arguments, specs: ServeOptions.specs))
                Issue.record("\(arguments) should fail")
            } catch { #expect(error.description.contains(flag)) }
        }
    }

    @Test("--quantize takes none, q8_0 and q4_0 (flag or env), and names the choices for anything else")
    func quantizeOption() throws {
        #expect(try ServeConfig(OptionValues(arguments: [], specs: ServeOptions.specs)).quantization == .none)
        for mode in WeightQuantization.allCases {
            let options = try OptionValues(arguments: ["--quantize", mode.rawValue], specs: ServeOptions.specs)
            #expect(try ServeConfig(options).quantization == mode)
        }
        let env = try ServeConfig(
            OptionValues(arguments: [], specs: ServeOptions.specs, environment: ["PANGU_SERVE_QUANTIZE": "q4_0"]))
        #expect(env.quantization == .q4_0)
        do {
            _ = try ServeConfig(OptionValues(arguments: ["--quantize", "q4_1"], specs: ServeOptions.specs))
            Issue.record("q4_1 should fail")
        } catch { #expect(error.description.contains("--quantize") && error.description.contains("q4_0")) }
    }

    @Test("--kv-cache-dtype takes f16 (the default), bf16 and f32, and names the choices for anything else")
    func kvCacheDTypeOption() throws {
        #expect(try ServeConfig(OptionValues(arguments: [], specs: ServeOptions.specs)).kvCacheDType == .f16)
        for (value, dtype) in [("f16", DType.f16), ("bf16", .bf16), ("F32", .f32)] {
            let options = try OptionValues(arguments: ["--kv-cache-dtype", value], specs: ServeOptions.specs)
            #expect(try ServeConfig(options).kvCacheDType == dtype)
        }
        for bad in ["q8_0", "fp8", "f64"] {
            do {
                _ = try ServeConfig(OptionValues(arguments: ["--kv-cache-dtype", bad], specs: ServeOptions.specs))
                Issue.record("\(bad) should fail")
            } catch { #expect(error.description.contains("--kv-cache-dtype") && error.description.contains("bf16")) }
        }
    }

    @Test("--activations is bf16 by default, f32 from a flag or the environment, and refuses other types")
    func activationsOption() throws {
        #expect(try ServeConfig(OptionValues(arguments: [], specs: ServeOptions.specs)).bf16Activations)
        let options = try OptionValues(arguments: ["--activations", "f32"], specs: ServeOptions.specs)
        #expect(try !ServeConfig(options).bf16Activations)
        let env = try ServeOptions.parse([], environment: ["PANGU_SERVE_ACTIVATIONS": "f32"])
        #expect(try !ServeConfig(env).bf16Activations)
        do {
            _ = try ServeConfig(OptionValues(arguments: ["--activations", "f16"], specs: ServeOptions.specs))
            Issue.record("f16 should fail")
        } catch { #expect(error.description.contains("--activations") && error.description.contains("bf16 or f32")) }
    }

    @Test(
        "the banner says whether a bf16 checkpoint meets bf16 (default) or f32 activations",
        .enabled(
            if: FileManager.default.fileExists(atPath: NPUCommandsTests.tinyModel.path), "../shared/data is absent"))
    func bf16ActivationsBanner() async throws {
        for (arguments, compute) in [([], "bf16 activations"), (["--activations", "f32"], "f32 compute")] {
            let options = try OptionValues(
                arguments: arguments + ["--threads", "1", "--kv-cache-bytes", "1000000", "--max-model-len", "64"],
                specs: ServeOptions.specs)
            let stack = try ServingStack.build(config: ServeConfig(options), directory: NPUCommandsTests.tinyModel)
            #expect(stack.banner(version: "test", address: "-").contains("bfloat16 weights, \(compute))"))
            await stack.engine.shutdown(drain: false)
        }
    }

    @Test("the banner names the weights as loaded: the checkpoint's dtype, --quantize's type, or a GGUF file's blocks")
    func weightsDescription() {
        let describe = ServingStack.weightsDescription
        #expect(describe("bfloat16", .none, .bf16) == "bfloat16 weights")
        #expect(describe("bfloat16", .q4_0, .q4_0x16) == "bfloat16 weights as q4_0")
        #expect(describe("float32", .none, .q4_0x16) == "Q4_0 weights")
        #expect(describe("float32", .none, .q4_K) == "Q4_K weights")
    }

    @Test("the KV cache defaults to what max-num-seqs full sequences need when memory allows")
    func kvSizing() throws {
        var config = try ServeConfig(OptionValues(arguments: ["--max-num-seqs", "2"], specs: ServeOptions.specs))
        #expect(config.kvCacheBytesPerWorker(bytesPerToken: 100, maxModelLen: 50) == 100 * (2 * 50 + 16))
        config.kvCacheBytes = 1000
        #expect(config.kvCacheBytesPerWorker(bytesPerToken: 100, maxModelLen: 50) == 1000)
    }
}

/// The committed example config is complete and valid.
@Suite("Example config") struct ExampleConfigTests {
    static let file = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Config/pangu-serve.json")

    @Test("Config/pangu-serve.json sets every option and parses")
    func exampleConfig() throws {
        let options = try ServeOptions.parse(["--config", Self.file.path], environment: [:])
        let data = try Data(contentsOf: Self.file)
        let keys = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any]).keys
        for spec in ServeOptions.specs where !["config", "help"].contains(spec.name) {
            #expect(keys.contains(spec.name), "missing \(spec.name)")
        }
        let config = try ServeConfig(options)
        #expect(config.http.port == 8000 && config.kvCacheBytes == 2_147_483_648 && config.logFormat == .json)
    }
}

@Test("docs/configuration.md documents every serve option")
func configurationDocIsComplete() throws {
    let doc = try String(
        contentsOf: ExampleConfigTests.file.deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("docs/configuration.md"), encoding: .utf8)
    for spec in ServeOptions.specs where spec.name != "help" {
        #expect(doc.contains("`\(spec.flag)`"), "\(spec.flag) is not documented")
    }
}
