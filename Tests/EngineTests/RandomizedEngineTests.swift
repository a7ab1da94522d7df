import Sampling
import Testing

@testable import Engine

@Suite struct RandomizedEngineTests {
    /// Thousands of requests with random lengths, shared prefixes, random aborts and a tiny block pool
    /// (frequent preemption), checked against uninterrupted reference runs and for leaked blocks.
    @Test(
        "random traffic with aborts and preemptions yields reference tokens and leaks no block",
        arguments: [
            (SchedulingPolicy.fcfs, true, 1 as UInt64, 0), (.priority, true, 2, 0), (.fcfs, false, 3, 0),
            (.fcfs, true, 4, 3), (.priority, false, 5, 3),
        ])
    func randomTraffic(policy: SchedulingPolicy, enablePrefixCaching: Bool, seed: UInt64, numSpeculativeTokens: Int)
        throws
    {
        var rng = TestRNG(state: seed)
        var config = makeConfig(numBlocks: 24, blockSize: 4, maxNumBatchedTokens: 48, maxNumSeqs: 6, maxModelLen: 64)
        config.schedulingPolicy = policy
        config.enablePrefixCaching = enablePrefixCaching
        config.numSpeculativeTokens = numSpeculativeTokens  // drafts from the shared bases, mostly rejected
        config.longPrefillTokenThreshold = 20
        config.maxNumWaitingRequests = 100_000
        let (core, worker) = try makeCore(config)
        worker.recordsHistory = false
        let bases = (0..<5).map { base in (0..<24).map { 2 + (base * 13 + $0 * 7) % 62 } }
        var expected: [String: [Int]] = [:]
        var aborted: Set<String> = []
        var outputs: [RequestOutput] = []
        var numSubmitted = 0
        let numRequests = 1200
        while numSubmitted < numRequests || core.hasWork {
            for _ in 0..<Int.random(in: 0...3, using: &rng) where numSubmitted < numRequests {
                let id = "q\(numSubmitted)"
                let base = bases[Int.random(in: 0..<bases.count, using: &rng)]
                let shared = Int.random(in: 0...20, using: &rng)
                let prompt =
                    Array(base.prefix(shared))
                    + (0..<Int.random(in: 1...16, using: &rng)).map { _ in
                        Int.random(in: 2..<64, using: &rng)
                    }
                let sampling = params(
                    maxTokens: Int.random(in: 1...24, using: &rng),
                    minTokens: Int.random(in: 0...1, using: &rng))
                try core.add(
                    EngineRequest(
                        requestID: id, promptTokenIDs: prompt, samplingParams: sampling,
                        priority: Int.random(in: 0...3, using: &rng), arrivalTime: Double(numSubmitted)))
                expected[id] = FakeModel.reference(prompt: prompt, params: sampling, maxModelLen: 64)
                numSubmitted += 1
            }
            if Int.random(in: 0..<10, using: &rng) == 0, numSubmitted > 0 {
                let id = "q\(Int.random(in: 0..<numSubmitted, using: &rng))"
                if let output = core.abort(id) {
                    aborted.insert(id)
                    outputs.append(output)
                }
            }
            outputs += core.step()
        }
        let completions = collect(outputs)
        #expect(completions.count == numRequests)
        var numMismatches = 0
        for (id, completion) in completions {
            if aborted.contains(id) {
                #expect(completion.finishReason == .abort)
                let prefix = expected[id].map { Array($0.prefix(completion.tokenIDs.count)) }
                if completion.tokenIDs != prefix { numMismatches += 1 }
            } else if completion.tokenIDs != expected[id] {
                numMismatches += 1
            }
        }
        #expect(numMismatches == 0)
        #expect(worker.violations.isEmpty, "\(worker.violations.prefix(5))")
        let pool = core.scheduler.kvCacheManager.pool
        #expect(pool.numFreeBlocks == pool.numBlocks)
        #expect(pool.refCounts.allSatisfy { $0 == 0 })
        #expect(core.scheduler.kvCacheManager.blockTables.isEmpty)
        let stats = core.stats
        #expect(stats.numPreemptionsTotal > 0)
        #expect(stats.numRunning == 0 && stats.numWaiting == 0)
        if enablePrefixCaching { #expect(stats.prefixCacheHits > 0) }
        if numSpeculativeTokens > 0 { #expect(stats.numDraftTokensTotal > 0) }
        _ = core.step()
        #expect(worker.states.isEmpty)
    }
}
