import Devices
import Engine
import Foundation
import Sampling
import Telemetry
import Testing

@testable import PanguServe

/// `pangu-serve simulate` on the real Pangu Pro MoE config (72B, 64 experts in
/// 8 groups) on an Atlas 800I A2 (8 × 910B, 64 GB): expert parallelism, W8A8,
/// and the `--max-tpot-ms` search.
@Suite("Pangu Pro MoE simulation") struct PanguProMoESimulateTests {
    /// Pangu Pro MoE's config.json (config only; the same as Config/models/pangu-pro-moe/config.json).
    static let configJSON = """
        {"architectures": ["PanguProMoEForCausalLM"], "model_type": "PanguProMoE", "hidden_size": 5120,
         "num_hidden_layers": 48, "num_attention_heads": 40, "num_key_value_heads": 8, "head_dim": 128,
         "num_experts": 64, "num_experts_per_tok": 8, "moe_intermediate_size": 1344,
         "shared_expert_intermediate_size": 5376, "vocab_size": 153376, "rope_theta": 16000000.0,
         "rms_norm_eps": 1e-05, "tie_word_embeddings": false, "torch_dtype": "bfloat16"}
        """
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    static func shape(_ dtype: NPUDType? = nil) throws -> DecoderShape {
        try DecoderShape(huggingFaceConfigJSON: Data(configJSON.utf8), weightDType: dtype)
    }

    static func profile() throws -> ChipProfile {
        try NPUProfileDirectory.catalog(NPUCommandsTests.profilesDir).profile(named: "910B2")
    }

    static func setup(_ attention: SimulateCommand.Setup.AttentionParallel) -> SimulateCommand.Setup {
        var setup = SimulateCommand.Setup()
        setup.attentionParallel = attention
        setup.enableExpertParallel = true
        return setup
    }

    @Test("the real config parses to 64 experts in 8 groups, and the copy in Config/models agrees")
    func realConfig() throws {
        let shape = try Self.shape()
        #expect(shape.hiddenSize == 5120 && shape.numHiddenLayers == 48 && shape.headDim == 128)
        #expect(
            shape.moe
                == DecoderShape.MoE(
                    numExperts: 64, numExpertsPerTok: 8, numExpertGroups: 8, moeIntermediateSize: 1344,
                    sharedExpertIntermediateSize: 5376))
        let file = Self.packageRoot.appendingPathComponent("Config/models/pangu-pro-moe/config.json")
        #expect(try DecoderShape(huggingFaceConfigJSON: Data(contentsOf: file)) == shape)
        // 72B parameters in all (the published size), about 16B active per token.
        let total = (0..<48).reduce(0) { $0 + shape.numLinearParameters(layer: $1) } + 2 * 153_376 * 5120
        #expect(total > 71_000_000_000 && total < 73_000_000_000)
    }

    @Test("expert parallelism holds whole experts per card and charges dispatch and combine on the links")
    func expertParallelCost() throws {
        let shape = try Self.shape()
        let model = NPUCostModel(profile: try Self.profile())
        let ep = try DecoderStepEstimator(shape: shape, costModel: model, tensorParallelSize: 8, expertParallelSize: 8)
        let tp = try DecoderStepEstimator(shape: shape, costModel: model, tensorParallelSize: 8)
        let batch = NPUBatch.decode(numSeqs: 64, contextLength: 2048)
        // 48 layers × (dispatch + combine) × 64/8 tokens × 8 experts × 5120 × 2 bytes.
        #expect(try ep.allToAllBytesPerCard(batch) == Double(48 * 2 * 8 * 8 * 5120 * 2))
        #expect(try tp.allToAllBytesPerCard(batch) == 0)
        let ledger = try ep.estimate(batch)
        let dispatch = try #require(ledger.entries.first { $0.op.name == "layers.0.mlp.experts.dispatch_all_to_all" })
        #expect(dispatch.timing.communicationSeconds > 0)
        // Routed experts: 64 × 3 × 5120 × 1344 per layer, split 8 ways either way; EP keeps the router replicated.
        #expect(
            shape.weightBytesPerRank(tensorParallelSize: 8, expertParallelSize: 8)
                == shape.weightBytesPerRank(tensorParallelSize: 8))
        #expect(throws: NPUError.self) {
            _ = try DecoderStepEstimator(shape: shape, costModel: model, tensorParallelSize: 1, expertParallelSize: 3)
        }
    }

    @Test("simulate on 8 × 910B2 with W8A8, TP or DP attention and expert parallelism gives sane figures")
    func simulateLayouts() throws {
        let workload = NPUSimulation.Workload(inputLen: 256, outputLen: 8, concurrency: 16, numRequests: 16)
        for attention in [SimulateCommand.Setup.AttentionParallel.tp, .dp] {
            let result = try SimulateCommand.simulate(
                shape: Self.shape(.int8), profile: Self.profile(), numCards: 8, workload: workload,
                setup: Self.setup(attention))
            #expect(result.report.timePerOutputToken.mean > 0, "\(attention)")
            #expect(result.outputTokensPerSecondPerCard > 0 && result.decodeTokensPerSecondPerCard > 0)
            #expect(result.prefillTokensPerSecondPerCard > result.decodeTokensPerSecondPerCard)
            #expect(result.numCards == 8 && result.numDataParallelRanks == (attention == .dp ? 8 : 1))
            let object = try #require(
                try JSONSerialization.jsonObject(with: Data(SimulateCommand.json(result).utf8)) as? [String: Any])
            #expect(object["concurrency"] as? Int == 16 && object["weight_dtype"] as? String == "int8")
        }
        // W8A8 halves the expert bytes: decode of the same batch is faster than bf16.
        let bf16 = try SimulateCommand.simulate(
            shape: Self.shape(.bf16), profile: Self.profile(), numCards: 8, workload: workload, setup: Self.setup(.tp))
        let int8 = try SimulateCommand.simulate(
            shape: Self.shape(.int8), profile: Self.profile(), numCards: 8, workload: workload, setup: Self.setup(.tp))
        #expect(int8.decodeStepSeconds < bf16.decodeStepSeconds)
    }

    @Test("the max-TPOT search returns a concurrency within the bound whose next step exceeds it or hits the cap")
    func maxTPOTSearch() throws {
        let shape = try Self.shape(.int8)
        let profile = try Self.profile()
        for (bound, cap) in [(0.05, 64), (10.0, 16)] {
            let search = try SimulateCommand.searchMaxConcurrency(maxTPOTSeconds: bound, maxConcurrency: cap, step: 8) {
                try SimulateCommand.simulate(
                    shape: shape, profile: profile, numCards: 8,
                    workload: .init(inputLen: 128, outputLen: 8, concurrency: $0, numRequests: $0),
                    setup: Self.setup(.dp))
            }
            let best = try #require(search.best)
            let concurrency = best.workload.concurrency * best.numDataParallelRanks
            #expect(best.report.timePerOutputToken.mean > 0)
            #expect(best.report.timePerOutputToken.mean <= bound)
            #expect(concurrency % 8 == 0)
            if let over = search.firstOver {
                #expect(over.concurrency == concurrency + 8 && over.tpotSeconds > bound)
            } else {
                #expect(concurrency == cap)
            }
            #expect(SimulateCommand.table(search).contains("largest concurrency \(concurrency)"))
        }
        let none = try SimulateCommand.searchMaxConcurrency(maxTPOTSeconds: 1e-6, maxConcurrency: 64, step: 8) {
            try SimulateCommand.simulate(
                shape: shape, profile: profile, numCards: 8,
                workload: .init(inputLen: 128, outputLen: 8, concurrency: $0, numRequests: $0), setup: Self.setup(.dp))
        }
        #expect(none.best == nil && none.trials.count == 1)
    }

    static let tinyMoE = packageRoot.deletingLastPathComponent().appendingPathComponent(
        "shared/data/models/tiny-pangu-moe")

    @Test(
        "serve --devices npu:910B2x4 --expert-parallel spreads tiny-pangu-moe's experts and reports a balanced load",
        .enabled(if: FileManager.default.fileExists(atPath: tinyMoE.path), "../shared/data is absent"))
    func serveExpertParallel() async throws {
        let options = try OptionValues(
            arguments: [
                "--devices", "npu:910B2x4", "--expert-parallel", "--threads", "2", "--kv-cache-bytes", "4000000",
                "--max-model-len", "128", "--npu-profiles-dir", NPUCommandsTests.profilesDir,
            ], specs: ServeOptions.specs)
        let config = try ServeConfig(options)
        #expect(config.enableExpertParallel)
        let stack = try ServingStack.build(config: config, directory: Self.tinyMoE)
        var params = SamplingParams()
        params.maxTokens = 4
        params.temperature = 0
        params.ignoreEOS = true
        let stream = try stack.engine.generate(
            EngineRequest(requestID: "ep", promptTokenIDs: [1, 450, 2211], samplingParams: params))
        var numTokens = 0
        for await output in stream { numTokens += output.newTokenIDs.count }
        #expect(numTokens == 4)
        let loads = stack.deviceStats.compactMap { $0.expertLoad?.numTokensTotal }
        // 3 prompt + 3 decoded tokens (the 4th is sampled, not fed) × 2 MoE layers × 1 group per card.
        #expect(loads == [12, 12, 12, 12])
        let metrics = MetricsRegistry()
        DeviceMetrics.register(on: metrics, stack: stack)
        let text = metrics.render()
        #expect(text.contains("pangu:npu_expert_load_tokens_total{model_name=\"tiny-pangu-moe\",device=\"npu:3\"} 12"))
        #expect(
            text.contains("pangu:npu_expert_load_imbalance_ratio{model_name=\"tiny-pangu-moe\",device=\"npu:0\"} 1"))
        await stack.engine.shutdown(drain: true)
    }
}
