import Dispatch
import Sampling
import Testing

@testable import Engine

@Suite struct EngineClientTests {
    let tokenizer = FakeTokenizer()

    func makeClient(numLoops: Int) throws -> EngineClient {
        let config = makeConfig(numBlocks: 24, blockSize: 4, maxNumBatchedTokens: 32, maxNumSeqs: 4)
        return try EngineClient(config: config, numReplicas: numLoops, tokenizer: tokenizer) { index in
            FakeWorker(name: "fake\(index)", numBlocks: 24, blockSize: 4)
        }
    }

    @Test("requests from concurrent submitters are spread over two loops and all complete correctly")
    func routingAcrossLoops() async throws {
        let client = try makeClient(numLoops: 2)
        let sampling = params(maxTokens: 10)
        let completions = try await withThrowingTaskGroup(of: [(String, [Int], Completion)].self) { group in
            for submitter in 0..<8 {
                group.addTask {
                    var results: [(String, [Int], Completion)] = []
                    for index in 0..<20 {
                        let id = "s\(submitter)-\(index)"
                        let prompt = [2 + submitter, 2 + index % 60, 9, 10, 11]
                        let stream = try client.generate(
                            EngineRequest(requestID: id, promptTokenIDs: prompt, samplingParams: sampling))
                        results.append((id, prompt, await consume(stream)))
                    }
                    return results
                }
            }
            var all: [(String, [Int], Completion)] = []
            for try await results in group { all += results }
            return all
        }
        #expect(completions.count == 160)
        for (_, prompt, completion) in completions {
            #expect(completion.tokenIDs == FakeModel.reference(prompt: prompt, params: sampling, maxModelLen: 96))
        }
        await client.shutdown(drain: true)
        let perLoop = client.stats.map { $0.numFinishedByReason.values.reduce(0, +) }
        #expect(perLoop.count == 2 && perLoop.allSatisfy { $0 > 0 })
        #expect(perLoop.reduce(0, +) == 160)
        #expect(client.combinedStats.numBlocksTotal == 48)
        #expect(client.stats.map(\.workerName) == ["fake0", "fake1"])
        #expect(client.maxModelLen == 96)
        #expect(!client.isAlive && !client.isReady)
    }

    @Test("the choices of one call share a loop and its prefix cache")
    func choicesShareLoop() async throws {
        let client = try makeClient(numLoops: 2)
        let prompt = Array(2..<15)
        let requests = (0..<3).map {
            EngineRequest(
                requestID: "n\($0)", promptTokenIDs: prompt, samplingParams: params(maxTokens: 3, ignoreEOS: true))
        }
        let streams = try client.generate(requests)
        var cached: [Int] = []
        for stream in streams { cached.append(await consume(stream).numCachedTokens) }
        #expect(cached.sorted() == [0, 12, 12])
        #expect(client.stats.filter { $0.numStepsTotal > 0 }.count == 1)
        #expect(throws: EngineError.promptTooLong(numTokens: 96, maxModelLen: 96)) {
            try client.generate(EngineRequest(requestID: "big", promptTokenIDs: Array(repeating: 2, count: 96)))
        }
        await client.shutdown(drain: true)
    }

    @Test("abort through the client ends the stream with reason abort")
    func abortThroughClient() async throws {
        let gate = DispatchSemaphore(value: 0)
        let loops = try (0..<2).map { _ in
            try EngineLoop(config: makeConfig(numBlocks: 24), worker: GatedWorker(gate: gate), tokenizer: tokenizer)
        }
        let client = EngineClient(loops: loops)
        let stream = try client.generate(
            EngineRequest(requestID: "z", promptTokenIDs: [2], samplingParams: params(maxTokens: 50, ignoreEOS: true)))
        var iterator = stream.makeAsyncIterator()
        gate.signal()
        let first = await iterator.next()
        #expect(first?.newTokenIDs == [5])
        client.abort("z")
        for _ in 0..<60 { gate.signal() }
        var last = first
        while let output = await iterator.next() { last = output }
        #expect(last?.finishReason == .abort)
        #expect(last?.numOutputTokens ?? 0 < 50)
        await client.shutdown(drain: true)
        #expect(client.combinedStats.numFreeBlocks == 48)
    }
}
