import Foundation
import Testing

@testable import Devices

@Suite("Decoder step estimator")
struct NPUDecoderStepEstimatorTests {
    static let pangu7B = DecoderShape.openPanguEmbedded7B

    static func estimator(
        _ shape: DecoderShape = pangu7B, chip: String = "910B2", tensorParallelSize: Int = 1
    ) throws -> DecoderStepEstimator {
        try DecoderStepEstimator(
            shape: shape, costModel: NPUFixtures.costModel(chip), tensorParallelSize: tensorParallelSize)
    }

    @Test(
        "openPangu-Embedded-7B decode at batch 1 on one 910B2 is memory-bound: ≈ (weights + KV) / effective bandwidth + launches"
    )
    func pangu7BDecodeBatch1IsMemoryBound() throws {
        let ledger = try Self.estimator().estimate(.decode(numSeqs: 1, contextLength: 2048))
        // Linear weights per layer (params): qkv 4096 × (32 + 2·8)·128 = 25,165,824; o 4096 × 4096 = 16,777,216;
        // gate_up 4096 × 2·12800 = 104,857,600; down 12800 × 4096 = 52,428,800; sum 199,229,440.
        // × 34 layers = 6,773,800,960; + lm_head 153,376 × 4096 = 628,228,096 -> 7,402,029,056 params
        // × 2 bytes (bf16) = 14,804,058,112 bytes read per step.
        let weightBytes = 14_804_058_112.0
        // KV read at context 2048: K and V, 2048 tokens × 8 heads × 128 × 2 bytes = 4,194,304 each,
        // 8,388,608 per layer × 34 = 285,212,672 bytes.
        let kvBytes = 285_212_672.0
        // Launches per layer: 2 norms (2 µs each), qkv/o/gate_up/down (5 µs each), rotary, cache write,
        // act_fn (2 µs each), fused attention (5 µs) = 4 + 20 + 6 + 5 = 35 µs; × 34 = 1,190 µs;
        // + embedding 2 + final norm 2 + lm_head 5 = 1,199 µs.
        let launchSeconds = 1_199e-6
        #expect(isClose(ledger.total.launchSeconds, launchSeconds))
        #expect(ledger.total.numLaunches == 34 * 10 + 3)
        // Effective bandwidth 1.6 × 2^40 × 0.6 = 1,055,531,162,664.96 B/s:
        // (14,804,058,112 + 285,212,672) / 1.0555e12 = 14.2954 ms; + 1.199 ms = 15.494 ms.
        let expected = (weightBytes + kvBytes) / (1.6 * 1_099_511_627_776 * 0.6) + launchSeconds
        #expect(isClose(ledger.stepSeconds, expected, relative: 2e-3), "step \(ledger.stepSeconds) vs \(expected)")
        for entry in ledger.entries where entry.op.category == .matmul && entry.op.numLaunches > 0 {
            #expect(entry.timing.bound == .memory, "\(entry.op.name) is \(entry.timing.bound)")
        }
        #expect(ledger.entries.count == 34 * 12 + 3)
        #expect(!ledger.entries.contains { $0.op.category == .collective })
    }

    @Test("decode figures for openPangu-Embedded-7B on one 910B2 at batch 1, 16, 64 (context 2048)")
    func pangu7BDecodeFigures() throws {
        let estimator = try Self.estimator()
        var previous: (seconds: Double, tokensPerSecond: Double)?
        for numSeqs in [1, 16, 64] {
            let seconds = try estimator.stepSeconds(.decode(numSeqs: numSeqs, contextLength: 2048))
            let tokensPerSecond = Double(numSeqs) / seconds
            print(
                String(
                    format:
                        "openPangu-Embedded-7B bf16, 910B2, TP1, context 2048, batch %2d: %.3f ms per output token, %.0f tokens/s",
                    numSeqs, seconds * 1e3, tokensPerSecond))
            if let previous {
                #expect(seconds > previous.seconds)
                #expect(tokensPerSecond > previous.tokensPerSecond)
            }
            previous = (seconds, tokensPerSecond)
        }
        // Context for docs/npu-simulator.md: W8A8, TP 2, and a 2048-token prefill.
        var w8a8 = Self.pangu7B
        w8a8.weightDType = .int8
        for (label, shape, tp) in [("W8A8, TP1", w8a8, 1), ("bf16, TP2", Self.pangu7B, 2)] {
            let other = try Self.estimator(shape, tensorParallelSize: tp)
            for numSeqs in [1, 16, 64] {
                let seconds = try other.stepSeconds(.decode(numSeqs: numSeqs, contextLength: 2048))
                print(
                    String(
                        format:
                            "openPangu-Embedded-7B %@, 910B2, context 2048, batch %2d: %.3f ms per output token, %.0f tokens/s",
                        label, numSeqs, seconds * 1e3, Double(numSeqs) / seconds))
            }
        }
        let prefill = try estimator.stepSeconds(NPUBatch(numPrefillTokens: 2048))
        print(String(format: "openPangu-Embedded-7B bf16, 910B2, TP1: prefill of 2048 tokens %.2f ms", prefill * 1e3))
    }

    @Test("a 2048-token prefill is compute-bound in its large matmuls")
    func prefillIsComputeBound() throws {
        let ledger = try Self.estimator().estimate(NPUBatch(numPrefillTokens: 2048))
        let gateUp = try #require(ledger.entries.first { $0.op.name == "layers.0.mlp.gate_up_proj" })
        // 2 × 2048 × 4096 × 25600 = 429,496,729,600 FLOPs / 247.72608e12 = 1.7338 ms > memory.
        #expect(gateUp.op.flops == 429_496_729_600)
        #expect(gateUp.timing.bound == .compute)
        let scores = try #require(ledger.entries.first { $0.op.name == "layers.0.self_attn.attn.scores" })
        // Causal pairs 2048 × 2049 / 2 = 2,098,176 per head × 32 heads × 2 × 128 = 17,188,257,792 FLOPs.
        #expect(scores.op.flops == 17_188_257_792)
        #expect(ledger.totals(.matmul).seconds > 0.9 * ledger.stepSeconds)
    }

    @Test("tensor parallelism splits the weights and adds all-reduces after attention and MLP")
    func tensorParallel() throws {
        let batch = NPUBatch.decode(numSeqs: 1, contextLength: 2048)
        let single = try Self.estimator().estimate(batch)
        let tp4 = try Self.estimator(tensorParallelSize: 4).estimate(batch)
        let collectives = tp4.entries.filter { $0.op.category == .collective }
        // 2 per layer + embedding all-reduce + logits all-gather.
        #expect(collectives.count == 2 * 34 + 2)
        let attentionAllReduce = try #require(collectives.first { $0.op.name == "layers.0.self_attn.all_reduce" })
        // One token × 4096 × 2 bytes: 2 × 0.5 µs + 2 × 3/4 × 8192 / 137.2e9 (0.0896 µs) + 10 µs launch.
        #expect(attentionAllReduce.op.bytes == 8192)
        #expect(isClose(attentionAllReduce.timing.seconds, 1e-6 + 1.5 * 8192 / 137.2e9 + 10e-6))
        #expect(isClose(tp4.totals(.matmul).bytes, single.totals(.matmul).bytes / 4, relative: 0.01))
        #expect(tp4.stepSeconds < single.stepSeconds)
        #expect(throws: NPUError.self) { try Self.estimator(tensorParallelSize: 3) }
        var broken = Self.pangu7B
        broken.numKeyValueHeads = 0
        #expect(throws: NPUError.invalidModelConfig(key: "num_key_value_heads", reason: "must be positive, got 0")) {
            try Self.estimator(broken)
        }
        // 8 KV heads replicate under TP 16 (1 KV head per rank).
        #expect(Self.pangu7B.numKeyValueHeadsPerRank(tensorParallelSize: 16) == 1)
    }

    @Test("W8A8 halves the weight bytes of the linear layers and adds quantize kernels")
    func w8a8() throws {
        var shape = Self.pangu7B
        shape.weightDType = .int8
        let batch = NPUBatch.decode(numSeqs: 1, contextLength: 2048)
        let int8 = try Self.estimator(shape).estimate(batch)
        let bf16 = try Self.estimator().estimate(batch)
        #expect(int8.entries.filter { $0.op.name.hasSuffix(".quantize") }.count == 34 * 4)
        let qkv = try #require(int8.entries.first { $0.op.name == "layers.0.self_attn.qkv_proj" })
        #expect(qkv.op.dtype == .int8)
        // W 4096 × 6144 × 1 + x 4096 × 1 + y 6144 × 2 = 25,165,824 + 4,096 + 12,288
        #expect(qkv.op.bytes == 25_182_208)
        #expect(int8.stepSeconds < 0.6 * bf16.stepSeconds + 1.2e-3)
    }

    @Test("an MoE layer reads only the experts a batch routes to")
    func moeExpertsTouched() throws {
        let moe = DecoderShape.MoE(
            numExperts: 64, numExpertsPerTok: 8, numExpertGroups: 8, moeIntermediateSize: 1344,
            sharedExpertIntermediateSize: 1344)
        let shape = DecoderShape(
            hiddenSize: 5120, numHiddenLayers: 2, numAttentionHeads: 40, numKeyValueHeads: 8, headDim: 128,
            intermediateSize: 0, vocabSize: 153_376, moe: moe)
        let one = try Self.estimator(shape).estimate(.decode(numSeqs: 1, contextLength: 16))
        let gateUp = try #require(one.entries.first { $0.op.name == "layers.0.mlp.experts.gate_up_proj" })
        // One token touches exactly 8 experts: 8 × 5120 × 2·1344 × 2 bytes = 220,200,960
        // + x 8 rows × 5120 × 2 = 81,920 + y 8 × 2688 × 2 = 43,008.
        #expect(isClose(gateUp.op.bytes, 220_200_960 + 81_920 + 43_008))
        // Expected distinct experts at 16 tokens: 64 × (1 − (56/64)^16) = 56.90.
        #expect(
            isClose(
                DecoderStepEstimator.expectedNumExpertsTouched(numTokens: 16, moe: moe), 64 * (1 - pow(56.0 / 64, 16))))
        #expect(one.entries.contains { $0.op.name == "layers.1.mlp.shared_expert.down_proj" })
        var badGroups = shape
        badGroups.moe?.numExpertGroups = 5  // does not divide 64 experts
        #expect(throws: NPUError.self) { try Self.estimator(badGroups) }
    }

    @Test("a chip without the model's dtype is refused; fp16 runs on 310P3")
    func dtypeSupport() throws {
        #expect(throws: NPUError.unsupportedDType(dtype: .bf16, unit: "cube", chip: "310P3")) {
            try Self.estimator(chip: "310P3")
        }
        var shape = Self.pangu7B
        shape.weightDType = .fp16
        shape.activationDType = .fp16
        let seconds = try Self.estimator(shape, chip: "310P3").stepSeconds(.decode(numSeqs: 1, contextLength: 2048))
        // 14.80 GB of weights at 204e9 × 0.6 B/s alone take 120.9 ms.
        #expect(seconds > 14_804_058_112 / (204e9 * 0.6))
    }

    @Test("batch geometry: causal pairs, KV tokens read, and refusal of empty batches")
    func batchGeometry() throws {
        let batch = NPUBatch(
            prefillChunks: [.init(numNewTokens: 4, numCachedTokens: 6)], decodeContextLengths: [10, 3])
        #expect(batch.numTokens == 6)
        #expect(batch.numSeqs == 3)
        // 4 × 6 + 4 × 5 / 2 = 34 pairs for the chunk, + 10 + 3 for the decodes = 47.
        #expect(batch.numAttentionPairs == 47)
        #expect(batch.numKVTokensRead == 10 + 10 + 3)
        #expect(throws: NPUError.self) { try NPUBatch().validate() }
        #expect(throws: NPUError.self) { try NPUBatch(decodeContextLengths: [0]).validate() }
    }
}
