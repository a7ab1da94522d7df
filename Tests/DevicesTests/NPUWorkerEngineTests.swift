import Engine
import Foundation
import Models
import Sampling
import Synchronization
import Tensors
import Testing
import Tokenizers

@testable import Devices

/// The simulated NPU worker on tiny-pangu-embedded, served through `EngineLoop`:
/// same greedy tokens as the CPU worker, device memory and clock accounted.
@Suite("NPU worker under the engine", .enabled(if: SharedData.isAvailable, "../shared/data is absent"))
struct NPUWorkerEngineTests {
    static let directory = SharedData.url("models/tiny-pangu-embedded")
    static let blockSize = 4
    static let numBlocks = 128

    static func engineConfig() -> EngineConfig {
        var config = EngineConfig(numBlocks: numBlocks)
        config.blockSize = blockSize
        config.maxNumSeqs = 8
        config.maxNumBatchedTokens = 64
        config.maxModelLen = 128
        return config
    }

    static func profile(_ name: String = "910B2") throws -> ChipProfile {
        try NPUFixtures.catalog().profile(named: name)
    }

    /// Pools are never freed: a freed pool's parked threads may wake on its destroyed condition.
    static let retainedPools = Mutex<[KernelPool]>([])

    static func retained(_ pool: KernelPool) -> KernelPool {
        retainedPools.withLock { $0.append(pool) }
        return pool
    }

    static func makeNPU(profile: ChipProfile) throws -> (NPUWorker, NPUDeviceGroup) {
        let config = try ModelConfig.load(directory: directory)
        let dtype = NPUDType.deviceDType(checkpoint: config.torchDType, profile: profile)
        let pool = retained(NPUWorker.makeKernelPool(numThreads: 2, dtype: dtype))
        let model = try ModelLoader.load(directory: directory, pool: pool)
        let group = try NPUDeviceGroup(
            name: "npu0", profile: profile, shape: DecoderShape(modelConfig: config, dtype: dtype))
        let worker = try NPUWorker(model: model, deviceGroup: group, numBlocks: numBlocks, blockSize: blockSize)
        return (worker, group)
    }

    static func makeCPU() throws -> CPUWorker {
        let model = try ModelLoader.load(directory: directory, pool: retained(KernelPool(numThreads: 2)))
        return CPUWorker(name: "cpu0", model: model, numBlocks: numBlocks, blockSize: blockSize, numThreads: 2)
    }

    /// The tiny model has random weights, so its top-2 logit margins are often tiny (0.005 and less)
    /// while bf16 matmuls move a logit by up to ~0.027 (measured; `bf16LogitDeviation` bounds it):
    /// a near-tie can flip. These prompts' 40-token greedy paths have clear enough margins in bf16;
    /// `marginRule` checks the general statement on others.
    static let bf16Prompts: [[Int]] = [
        [1, 2809, 14786, 14898, 28916],
        [1, 632, 1701, 18691, 9047, 2984, 25344, 22029, 7163, 15493, 4400],
        [1, 23122, 11152, 22585, 574, 22726, 8648, 7388, 22446],
        [1, 19671, 20194, 6627],
    ]
    /// Varied prompts (fp16's deviation, ~0.003, leaves them all unchanged).
    static let fp16Prompts: [[Int]] = [
        [1, 450, 2211, 310, 263, 931],
        [1] + (0..<23).map { 300 + $0 * 41 % 700 },
        [1, 9000, 12, 3000, 44, 7, 8080, 17],
    ]
    /// Bound on |NPU logit − CPU logit| for bf16 device numerics on this model.
    static let bf16LogitDeviation: Float = 0.05

    static func request(_ i: Int, _ prompt: [Int], maxTokens: Int = 40) -> EngineRequest {
        var params = SamplingParams()
        params.temperature = 0
        params.maxTokens = maxTokens
        params.ignoreEOS = true
        return EngineRequest(requestID: "r\(i)", promptTokenIDs: prompt, samplingParams: params)
    }

    static func serve(_ worker: sending any Worker, prompts: [[Int]]) async throws -> [[Int]] {
        let loop = try EngineLoop(
            config: engineConfig(), worker: worker, tokenizer: try TokenizerLoader.load(directory: directory))
        let streams = try loop.submit(prompts.enumerated().map { request($0.offset, $0.element) })
        var results: [[Int]] = []
        for stream in streams {
            var ids: [Int] = []
            for await output in stream { ids += output.newTokenIDs }
            results.append(ids)
        }
        loop.shutdown(drain: true)
        await loop.waitUntilStopped()
        return results
    }

    @Test("greedy output through the NPU worker equals the CPU worker's, 40 tokens per request")
    func greedyParity() async throws {
        let expected = try await Self.serve(try Self.makeCPU(), prompts: Self.bf16Prompts)
        let (npu, group) = try Self.makeNPU(profile: Self.profile())
        let actual = try await Self.serve(npu, prompts: Self.bf16Prompts)
        for i in Self.bf16Prompts.indices {
            #expect(actual[i].count == 40)
            #expect(actual[i] == expected[i], "prompt \(i)")
        }
        let reading = group.clock.reading
        #expect(reading.numSteps > 0 && reading.busySeconds > 0)
        #expect(
            group.transfers.reading.deviceToHostBytes == Self.bf16Prompts.count * 40 * 4,
            "each sampled id copied back as int32")
    }

    @Test("the fp16 310P3 keeps the greedy tokens of the tiny model up to the first near-tie")
    func fp16Parity() async throws {
        let expected = try await Self.serve(try Self.makeCPU(), prompts: Self.fp16Prompts)
        let (npu, group) = try Self.makeNPU(profile: Self.profile("310P3"))
        #expect(group.shape.activationDType == .fp16)
        let actual = try await Self.serve(npu, prompts: Self.fp16Prompts)
        let cpu = try ModelLoader.load(directory: Self.directory, pool: Self.retained(KernelPool(numThreads: 1)))
        let vocab = cpu.config.vocabSize
        var numCompared = 0
        for (i, prompt) in Self.fp16Prompts.enumerated() {
            // Replay the CPU's greedy path and find the first step whose top-2 margin fp16 could flip
            // (fp16 moves logits by ~0.003 here; 0.02 leaves a wide safety factor).
            let logits = Self.allLogits(cpu, prompt + expected[i])
            var numClear = 0
            for step in expected[i].indices {
                let row = Array(logits[(prompt.count - 1 + step) * vocab..<(prompt.count + step) * vocab])
                let top = row.sorted(by: >)
                if top[0] - top[1] < 0.02 { break }
                numClear += 1
            }
            numCompared += numClear
            #expect(Array(actual[i].prefix(numClear)) == Array(expected[i].prefix(numClear)), "prompt \(i)")
        }
        #expect(numCompared >= 20, "too few clear greedy steps to compare")
    }

    @Test("the worker's device memory holds the weights and the KV cache; too little memory fails at start")
    func memory() throws {
        let (worker, group) = try Self.makeNPU(profile: Self.profile())
        let weights = group.shape.weightBytesPerRank()
        #expect(group.memories[0].usedBytes == weights + group.kvCacheBytesPerCard)
        #expect(group.transfers.reading.hostToDeviceBytes == weights)
        #expect(worker.info.name == "npu0" && worker.info.kind.contains("910B2"))
        #expect(group.numKVBlocks(blockSize: Self.blockSize) >= Self.numBlocks)

        var small = try Self.profile()
        small.hbmBytes = 4 << 20
        let config = try ModelConfig.load(directory: Self.directory)
        let shape = DecoderShape(modelConfig: config, dtype: .bf16)
        #expect(throws: NPUError.outOfMemory(requested: weights, available: 4 << 20, device: "npu:0 (910B2)")) {
            _ = try NPUDeviceGroup(name: "npu0", profile: small, shape: shape)
        }
    }

    /// Logits of every position of `tokens` in one prefill.
    static func allLogits(_ model: any CausalLM, _ tokens: [Int]) -> [Float] {
        let cache = PagedKVCache(config: model.config, numBlocks: 16, blockSize: 16)
        var batch = ForwardBatch()
        batch.append(tokens: tokens, startPosition: 0, blockTable: Array(0..<16), blockSize: 16, wantLogits: .all)
        return model.forward(batch, cache: cache)
    }

    @Test(
        "with bf16 numerics every logit moves less than the bound, so greedy agrees wherever the margin exceeds twice it"
    )
    func marginRule() throws {
        let cpu = try ModelLoader.load(directory: Self.directory, pool: Self.retained(KernelPool(numThreads: 1)))
        let npu = try ModelLoader.load(
            directory: Self.directory, pool: Self.retained(NPUWorker.makeKernelPool(numThreads: 1, dtype: .bf16)))
        let vocab = cpu.config.vocabSize
        for prompt in Self.fp16Prompts {
            // Teacher-forced along a 40-token continuation: compare each position's logits.
            let tokens = prompt + (0..<40).map { 500 + $0 * 613 % 30_000 }
            let reference = Self.allLogits(cpu, tokens)
            let device = Self.allLogits(npu, tokens)
            var numClearSteps = 0
            for row in 0..<tokens.count {
                let c = reference[row * vocab..<(row + 1) * vocab]
                let n = device[row * vocab..<(row + 1) * vocab]
                let deviation = zip(c, n).map { abs($0 - $1) }.max() ?? 0
                #expect(deviation < Self.bf16LogitDeviation, "row \(row): deviation \(deviation)")
                let sorted = c.sorted(by: >)
                guard sorted[0] - sorted[1] > 2 * Self.bf16LogitDeviation else { continue }
                numClearSteps += 1
                #expect(c.firstIndex(of: sorted[0]) == n.firstIndex(of: n.max() ?? 0), "row \(row)")
            }
            #expect(numClearSteps > 0)
        }
    }
}
