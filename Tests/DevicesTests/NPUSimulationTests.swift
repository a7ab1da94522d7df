import Engine
import Foundation
import Testing
import Tokenizers

@testable import Devices

/// A tokenizer that knows no text: the timing-only engine never shows any.
struct NPUSimulationStubTokenizer: Tokenizer {
    let vocabSize: Int
    var bosTokenID: Int? { nil }
    var eosTokenID: Int? { nil }
    var addsBOS: Bool { false }
    func encode(_ text: String, addSpecialTokens: Bool, parseSpecial: Bool) -> [Int] { [] }
    func decode(_ ids: [Int], skipSpecialTokens: Bool) -> String { "" }
    func piece(for id: Int) -> String? { "" }
    func id(forPiece piece: String) -> Int? { nil }
    func isSpecial(_ id: Int) -> Bool { false }
}

/// The capacity planner: the real scheduler on virtual time against a timing-only NPU.
@Suite("NPU simulation")
struct NPUSimulationTests {
    /// openPangu-Embedded-7B's config.json (the fields that matter, as published).
    static let panguEmbedded7BConfig = """
        {
          "architectures": ["PanguEmbeddedForCausalLM"],
          "model_type": "PanguEmbedded",
          "hidden_size": 4096,
          "intermediate_size": 12800,
          "num_hidden_layers": 34,
          "num_attention_heads": 32,
          "num_key_value_heads": 8,
          "head_dim": 128,
          "vocab_size": 153376,
          "max_position_embeddings": 32768,
          "rms_norm_eps": 1e-05,
          "rope_theta": 16000000.0,
          "bias": true,
          "tie_word_embeddings": false,
          "torch_dtype": "bfloat16",
          "bos_token_id": 1,
          "eos_token_id": 45892
        }
        """

    static func simulate(
        chip: String = "910B2", tp: Int = 1, inputLen: Int, outputLen: Int, concurrency: Int, numRequests: Int
    ) throws -> (NPUSimulationReport, NPUDeviceGroup) {
        let shape = try DecoderShape(huggingFaceConfigJSON: Data(panguEmbedded7BConfig.utf8))
        let group = try NPUDeviceGroup(
            name: "npu0", profile: try NPUFixtures.catalog().profile(named: chip), shape: shape,
            tensorParallelSize: tp)
        var config = EngineConfig(numBlocks: group.numKVBlocks(blockSize: 16))
        config.maxNumSeqs = concurrency
        config.maxNumBatchedTokens = 2048
        config.maxModelLen = inputLen + outputLen
        config.enablePrefixCaching = false
        let core = try EngineCore(
            config: config, worker: NPUTimingWorker(deviceGroup: group),
            tokenizer: NPUSimulationStubTokenizer(vocabSize: shape.vocabSize), eosTokenIDs: [],
            clock: { group.clock.reading.simulatedSeconds })
        let workload = NPUSimulation.Workload(
            inputLen: inputLen, outputLen: outputLen, concurrency: concurrency, numRequests: numRequests)
        return (try NPUSimulation.run(core: core, group: group, workload: workload, vocabSize: shape.vocabSize), group)
    }

    @Test("7B on one 910B2 at batch 16: TTFT > 0, TPOT within 2x of the estimator's decode step")
    func sevenB() throws {
        let (report, group) = try Self.simulate(inputLen: 512, outputLen: 64, concurrency: 16, numRequests: 32)
        #expect(report.numRequests == 32)
        #expect(report.numOutputTokens == 32 * 64)
        #expect(report.timeToFirstToken.mean > 0 && report.timeToFirstToken.p50 > 0)
        #expect(report.timeToFirstToken.p99 >= report.timeToFirstToken.p50)
        let decode = try group.estimator.stepSeconds(.decode(numSeqs: 16, contextLength: 512 + 32))
        #expect(report.timePerOutputToken.mean >= decode * 0.5)
        #expect(report.timePerOutputToken.mean <= decode * 2, "TPOT \(report.timePerOutputToken.mean) vs \(decode)")
        #expect(abs(report.simulatedSeconds - group.clock.reading.busySeconds) < 1e-9, "no idle time in a closed loop")
        #expect(report.outputTokensPerSecond > 0)
        #expect(report.outputTokensPerSecondPerCard == report.outputTokensPerSecond)
    }

    @Test("batch 1 decodes at the estimator's single-sequence step time")
    func batchOne() throws {
        let (report, group) = try Self.simulate(inputLen: 128, outputLen: 32, concurrency: 1, numRequests: 2)
        let decode = try group.estimator.stepSeconds(.decode(numSeqs: 1, contextLength: 144))
        #expect(abs(report.timePerOutputToken.mean - decode) / decode < 0.02)
        let prefill = try group.estimator.stepSeconds(NPUBatch(numPrefillTokens: 128))
        #expect(abs(report.timeToFirstToken.p50 - prefill) / prefill < 1e-6, "TTFT alone = one prefill step")
    }

    @Test("a tensor-parallel group of 8 serves more tokens per second in total but fewer per card")
    func tensorParallel() throws {
        let (one, _) = try Self.simulate(inputLen: 256, outputLen: 32, concurrency: 8, numRequests: 8)
        let (eight, _) = try Self.simulate(tp: 8, inputLen: 256, outputLen: 32, concurrency: 8, numRequests: 8)
        #expect(eight.outputTokensPerSecond > one.outputTokensPerSecond)
        #expect(eight.outputTokensPerSecondPerCard < one.outputTokensPerSecondPerCard)
        #expect(eight.numCards == 8)
    }

    @Test("percentiles use the nearest rank")
    func summary() {
        let summary = NPUSimulationReport.Summary((1...100).map(Double.init))
        #expect(summary.p50 == 50 && summary.p99 == 99 && summary.mean == 50.5)
        #expect(NPUSimulationReport.Summary([]).p99 == 0)
    }
}
