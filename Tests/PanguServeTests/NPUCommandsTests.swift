import Devices
import Engine
import Foundation
import Sampling
import Testing

@testable import PanguServe

/// `pangu-serve simulate` and `pangu-serve devices` on the committed chip profiles.
@Suite("NPU commands") struct NPUCommandsTests {
    static let profilesDir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Config/devices").path

    @Test("the profile directory is found from an explicit path, and a wrong one is refused")
    func profiles() throws {
        let catalog = try NPUProfileDirectory.catalog(Self.profilesDir)
        #expect(catalog.names.contains("910B2"))
        #expect(throws: CLIError.self) { try NPUProfileDirectory.locate("/nonexistent/devices") }
    }

    @Test("devices lists one row per NPU card with its memory, and a CPU row per CPU worker")
    func devicesTable() throws {
        let catalog = try NPUProfileDirectory.catalog(Self.profilesDir)
        let rows = try DevicesCommand.rows(
            DeviceSpec.parse("cpu,npu:910B2x2"), catalog: catalog, shape: nil, npuMemoryUtilization: 0.9)
        #expect(rows.map { $0[0] } == ["cpu0", "npu:0", "npu:1"])
        #expect(rows[1][2] == "910B2" && rows[1][3] == "0 / 65536")
        let table = DevicesCommand.table(rows)
        #expect(table.contains("HBM used / total (MiB)") && table.split(separator: "\n").count == 5)
        #expect(throws: CLIError.self) {
            try DevicesCommand.rows(
                DeviceSpec.parse("npu:999Z"), catalog: catalog, shape: nil, npuMemoryUtilization: 0.9)
        }
    }

    @Test("simulate reads a 7B config.json and reports positive TTFT, TPOT and throughput as JSON")
    func simulateJSON() throws {
        let config = """
            {"hidden_size": 4096, "num_hidden_layers": 34, "num_attention_heads": 32, "num_key_value_heads": 8,
             "head_dim": 128, "intermediate_size": 12800, "vocab_size": 153376, "torch_dtype": "bfloat16"}
            """
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("npu-sim-\(UUID().uuidString).json")
        try Data(config.utf8).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let catalog = try NPUProfileDirectory.catalog(Self.profilesDir)
        let result = try SimulateCommand.simulate(
            shape: DecoderShape(huggingFaceConfigJSON: Data(contentsOf: file)),
            profile: catalog.profile(named: "910B2"),
            numCards: 2, workload: .init(inputLen: 256, outputLen: 16, concurrency: 4, numRequests: 8),
            setup: .init())
        let object = try #require(
            try JSONSerialization.jsonObject(with: Data(SimulateCommand.json(result).utf8)) as? [String: Any])
        #expect(object["num_cards"] as? Int == 2 && object["num_requests"] as? Int == 8)
        let ttft = try #require(object["ttft"] as? [String: Double])
        #expect((ttft["p50_ms"] ?? 0) > 0)
        #expect((object["output_tokens_per_second"] as? Double ?? 0) > 0)
        #expect(SimulateCommand.table(result).contains("TPOT mean / p50 / p99"))
    }

    static let tinyModel = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent(
            "shared/data/models/tiny-pangu-embedded")

    @Test(
        "serve with --devices cpu,npu:910B3 starts a CPU and an NPU worker in one pool and both answer",
        .enabled(if: FileManager.default.fileExists(atPath: tinyModel.path), "../shared/data is absent"))
    func mixedPool() async throws {
        let options = try OptionValues(
            arguments: [
                "--devices", "cpu,npu:910B3", "--threads", "2", "--kv-cache-bytes", "4000000", "--max-model-len", "128",
                "--npu-profiles-dir", Self.profilesDir,
            ], specs: ServeOptions.specs)
        let stack = try ServingStack.build(config: ServeConfig(options), directory: Self.tinyModel)
        #expect(stack.workerNames == ["cpu0", "npu0"])
        let stats = stack.deviceStats
        #expect(stats.count == 1 && stats[0].name == "npu:0" && stats[0].profile == "910B3")
        #expect(stats[0].memoryUsedBytes > 0 && stats[0].memoryUsedBytes <= stats[0].memoryTotalBytes)
        var params = SamplingParams()
        params.maxTokens = 4
        params.temperature = 0
        params.ignoreEOS = true
        // One call per request: the client spreads single requests over the loops by load.
        let streams = try (0..<4).map { i throws(EngineError) in
            try stack.engine.generate(
                EngineRequest(requestID: "m\(i)", promptTokenIDs: [1, 450, 2211 + i], samplingParams: params))
        }
        for stream in streams {
            var numTokens = 0
            for await output in stream { numTokens += output.newTokenIDs.count }
            #expect(numTokens == 4)
        }
        #expect(stack.deviceStats[0].numSteps > 0, "the NPU worker served some of the requests")
        await stack.engine.shutdown(drain: true)
    }
}
