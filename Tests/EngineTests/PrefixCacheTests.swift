import Sampling
import Testing

@testable import Engine

@Suite struct PrefixCacheTests {
    @Test("a request sharing a computed prefix starts after the cached blocks and counts the hits")
    func prefixHit() throws {
        let (core, worker) = try makeCore(makeConfig(blockSize: 4))
        let shared = Array(2..<14)  // 12 tokens = 3 blocks
        let sampling = params(maxTokens: 3, ignoreEOS: true)
        try core.add(EngineRequest(requestID: "first", promptTokenIDs: shared + [20, 21], samplingParams: sampling))
        _ = core.runUntilIdle()
        try core.add(EngineRequest(requestID: "second", promptTokenIDs: shared + [30], samplingParams: sampling))
        let completions = collect(core.runUntilIdle())
        let admitted = try #require(worker.history.flatMap(\.scheduledNewRequests).first { $0.requestID == "second" })
        #expect(admitted.numComputedTokens == 12)
        #expect(
            worker.history.last { $0.numScheduledTokens["second"] != nil && $0.scheduledNewRequests.count == 1 }?
                .numScheduledTokens["second"] == 1)
        #expect(completions["second"]?.numCachedTokens == 12)
        #expect(
            completions["second"]?.tokenIDs
                == FakeModel.reference(prompt: shared + [30], params: sampling, maxModelLen: 256))
        let stats = core.stats
        #expect(stats.prefixCacheQueries == 14 + 13)
        #expect(stats.prefixCacheHits == 12)
        #expect(worker.violations.isEmpty)
    }

    @Test("an identical prompt reuses all but its last token's block")
    func identicalPrompt() throws {
        let (core, worker) = try makeCore(makeConfig(blockSize: 4))
        let prompt = Array(2..<10)  // 8 tokens = 2 full blocks; the last token must be computed
        let sampling = params(maxTokens: 2, ignoreEOS: true)
        try core.add(EngineRequest(requestID: "a", promptTokenIDs: prompt, samplingParams: sampling))
        _ = core.runUntilIdle()
        try core.add(EngineRequest(requestID: "b", promptTokenIDs: prompt, samplingParams: sampling))
        let completions = collect(core.runUntilIdle())
        #expect(completions["b"]?.numCachedTokens == 4)
        #expect(completions["b"]?.tokenIDs == FakeModel.reference(prompt: prompt, params: sampling, maxModelLen: 256))
        #expect(worker.violations.isEmpty)
    }

    @Test("n requests with one prompt compute the shared prefix once")
    func parallelSamplingSharesBlocks() throws {
        let (core, worker) = try makeCore(makeConfig(blockSize: 4, maxNumBatchedTokens: 64))
        let prompt = Array(2..<23)  // 21 tokens: 5 full blocks
        let sampling = params(maxTokens: 4, ignoreEOS: true)
        for choice in 0..<4 {
            try core.add(EngineRequest(requestID: "n\(choice)", promptTokenIDs: prompt, samplingParams: sampling))
        }
        let completions = collect(core.runUntilIdle())
        let expected = FakeModel.reference(prompt: prompt, params: sampling, maxModelLen: 256)
        for choice in 0..<4 { #expect(completions["n\(choice)"]?.tokenIDs == expected) }
        let cached = (1..<4).compactMap { completions["n\($0)"]?.numCachedTokens }
        #expect(cached == [20, 20, 20])
        let prefillTokens = worker.history.flatMap(\.scheduledNewRequests).map {
            prompt.count - $0.numComputedTokens
        }
        #expect(prefillTokens.reduce(0, +) == 21 + 3)
        #expect(worker.violations.isEmpty)
    }

    @Test("freed cached blocks are evicted least recently used when the pool runs short")
    func lruEvictionUnderPressure() throws {
        let (core, _) = try makeCore(makeConfig(numBlocks: 8, blockSize: 4))
        let sampling = params(maxTokens: 1, ignoreEOS: true)
        try core.add(EngineRequest(requestID: "old", promptTokenIDs: Array(2..<11), samplingParams: sampling))
        _ = core.runUntilIdle()
        try core.add(EngineRequest(requestID: "new", promptTokenIDs: Array(30..<39), samplingParams: sampling))
        _ = core.runUntilIdle()
        // Both prefixes fit (2 cached blocks each); a big request now evicts the older prefix first.
        try core.add(
            EngineRequest(requestID: "big", promptTokenIDs: Array(repeating: 50, count: 19), samplingParams: sampling))
        _ = core.runUntilIdle()
        try core.add(EngineRequest(requestID: "new2", promptTokenIDs: Array(30..<39), samplingParams: sampling))
        try core.add(EngineRequest(requestID: "old2", promptTokenIDs: Array(2..<11), samplingParams: sampling))
        let completions = collect(core.runUntilIdle())
        #expect(completions["new2"]?.numCachedTokens == 8)
        #expect(completions["old2"]?.numCachedTokens == 0)
    }

    @Test("without prefix caching nothing is reused or counted")
    func disabled() throws {
        var config = makeConfig(blockSize: 4)
        config.enablePrefixCaching = false
        let (core, worker) = try makeCore(config)
        let sampling = params(maxTokens: 2, ignoreEOS: true)
        try core.add(EngineRequest(requestID: "a", promptTokenIDs: Array(2..<14), samplingParams: sampling))
        _ = core.runUntilIdle()
        try core.add(EngineRequest(requestID: "b", promptTokenIDs: Array(2..<14), samplingParams: sampling))
        _ = core.runUntilIdle()
        #expect(worker.history.flatMap(\.scheduledNewRequests).allSatisfy { $0.numComputedTokens == 0 })
        #expect(core.stats.prefixCacheQueries == 0)
    }
}
