import Engine
import Foundation
import Models
import Sampling
import Tensors
import Testing
import Tokenizers

@testable import Devices

/// The engine driving a real CPU worker on tiny-pangu-embedded: concurrency,
/// preemption and prefix sharing never change a request's greedy tokens.
@Suite("CPU worker under the engine", .enabled(if: SharedData.isAvailable, "../shared/data is absent"))
struct CPUWorkerEngineTests {
    static let directory = SharedData.url("models/tiny-pangu-embedded")

    /// 16 prompts of different lengths; groups of them share a 40-token prefix (prefix caching).
    static func prompts() -> [[Int]] {
        let shared = (0..<40).map { 100 + $0 * 37 % 900 }
        return (0..<16).map { i in
            let own = (0..<(3 + i * 7 % 29)).map { 2000 + (i * 131 + $0 * 17) % 5000 }
            return [1] + (i % 3 == 0 ? shared : []) + own
        }
    }

    static func makeLoop(numBlocks: Int, maxNumSeqs: Int = 16, numSpeculativeTokens: Int = 0) throws -> EngineLoop {
        let pool = KernelPool(numThreads: 2)
        let model = try ModelLoader.load(directory: directory, pool: pool)
        var config = EngineConfig(numBlocks: numBlocks)
        config.blockSize = 4
        config.maxNumSeqs = maxNumSeqs
        config.maxNumBatchedTokens = 64
        config.maxModelLen = 128
        config.numSpeculativeTokens = numSpeculativeTokens
        let worker = CPUWorker(name: "cpu0", model: model, numBlocks: numBlocks, blockSize: 4, numThreads: 2)
        return try EngineLoop(config: config, worker: worker, tokenizer: try TokenizerLoader.load(directory: directory))
    }

    static func request(_ i: Int, _ prompt: [Int]) -> EngineRequest {
        var params = SamplingParams()
        params.temperature = 0
        params.maxTokens = 10 + i % 7
        params.ignoreEOS = true
        return EngineRequest(requestID: "r\(i)", promptTokenIDs: prompt, samplingParams: params)
    }

    static func collect(_ stream: AsyncStream<RequestOutput>) async -> (ids: [Int], reason: FinishReason?) {
        var ids: [Int] = []
        var reason: FinishReason?
        for await output in stream {
            ids += output.newTokenIDs
            reason = output.finishReason ?? reason
        }
        return (ids, reason)
    }

    @Test("16 concurrent requests with forced preemption and shared prefixes give each one's tokens alone")
    func concurrentEqualsAlone() async throws {
        let prompts = Self.prompts()
        let alone = try Self.makeLoop(numBlocks: 256, maxNumSeqs: 1)
        var expected: [[Int]] = []
        for (i, prompt) in prompts.enumerated() {
            expected.append(await Self.collect(try alone.submit(Self.request(i, prompt))).ids)
        }
        alone.shutdown(drain: true)

        // 60 blocks of 4 tokens cannot hold 16 sequences of up to ~90 tokens: the scheduler must preempt.
        let loop = try Self.makeLoop(numBlocks: 60)
        let streams = try loop.submit(prompts.enumerated().map { Self.request($0.offset, $0.element) })
        var results: [[Int]] = []
        for stream in streams { results.append(await Self.collect(stream).ids) }
        for i in prompts.indices {
            #expect(results[i] == expected[i], "request \(i)")
            #expect(results[i].count == 10 + i % 7)
        }
        // Blocks of the last finished requests are freed by the loop's next step; give it a moment.
        var stats = loop.stats
        for _ in 0..<200 where stats.numFreeBlocks != stats.numBlocksTotal {
            try await Task.sleep(for: .milliseconds(10))
            stats = loop.stats
        }
        #expect(stats.numPreemptionsTotal > 0, "the tiny KV cache should force preemption")
        #expect(stats.prefixCacheHits > 0, "prompts sharing a 40-token prefix should hit the prefix cache")
        #expect(stats.numFreeBlocks == stats.numBlocksTotal, "every block is free at the end")
        loop.shutdown(drain: true)
    }

    @Test(
        "speculative decoding (prompt lookup) gives the tokens of plain decoding, greedy and seeded sampling",
        arguments: [0, 1])
    func speculativeEqualsPlain(temperature: Float) async throws {
        // Prompts that repeat a motif, so lookups find drafts from the first decode step.
        let requests = (0..<8).map { i in
            let motif = (0..<(2 + i % 4)).map { 300 + (i * 97 + $0 * 61) % 2000 }
            var params = SamplingParams()
            params.temperature = temperature
            params.topK = 2  // (the tiny model's distributions are nearly flat; sampling between two can repeat)
            params.seed = UInt64(i)
            params.maxTokens = 40
            params.ignoreEOS = true
            return EngineRequest(
                requestID: "s\(i)", promptTokenIDs: [1] + Array(Array(repeating: motif, count: 6).joined()),
                samplingParams: params)
        }
        var outputs: [[[Int]]] = []
        var (drafted, accepted) = (0, 0)
        for numSpeculativeTokens in [0, 4] {
            let loop = try Self.makeLoop(numBlocks: 256, numSpeculativeTokens: numSpeculativeTokens)
            var results: [[Int]] = []
            for stream in try loop.submit(requests) { results.append(await Self.collect(stream).ids) }
            outputs.append(results)
            (drafted, accepted) = (loop.stats.numDraftTokensTotal, loop.stats.numAcceptedDraftTokensTotal)
            loop.shutdown(drain: true)
        }
        for i in requests.indices { #expect(outputs[1][i] == outputs[0][i], "request \(i)") }
        #expect(outputs[1].allSatisfy { $0.count == 40 })
        #expect(accepted > 0, "the repeated prompts should get drafts accepted")
        print(
            "speculative decoding at temperature \(temperature): \(accepted) of \(drafted) drafts accepted, 320 tokens")
    }
}
