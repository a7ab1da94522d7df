import Sampling
import Testing

@testable import Engine

/// Speculative decoding by prompt lookup: the proposer, and the engine's draft bookkeeping against the
/// `FakeWorker`, whose simulated KV store catches a rejected draft left counted as computed or cached.
@Suite struct SpeculativeDecodingTests {
    func specConfig(_ numSpeculativeTokens: Int = 4, maxNumBatchedTokens: Int = 64) -> EngineConfig {
        var config = makeConfig(maxNumBatchedTokens: maxNumBatchedTokens)
        config.numSpeculativeTokens = numSpeculativeTokens
        return config
    }

    @Test("the proposer continues the latest earlier occurrence of the longest matching suffix")
    func proposer() {
        let proposer = NgramProposer(numSpeculativeTokens: 3, minN: 2, maxN: 3)
        // Suffix [7, 8, 9] occurred at 1 (followed by 1, 2, 3); [8, 9] alone also at 6 (followed by 4).
        #expect(proposer.propose([5, 7, 8, 9, 1, 2, 3, 8, 9, 4, 7, 8, 9], limit: 10) == [1, 2, 3])
        #expect(proposer.propose([8, 9, 4, 8, 9, 5, 8, 9], limit: 10) == [5, 8, 9])  // latest match of [8, 9]
        #expect(proposer.propose([1, 2, 3, 4], limit: 10) == [])
        #expect(proposer.propose([1, 2, 1, 2], limit: 10) == [1, 2, 1])  // continued with the match's period
        #expect(proposer.propose([6, 6, 6, 6], limit: 2) == [6, 6])  // a loop overlaps its own suffix
        #expect(proposer.propose([1, 2, 1, 2], limit: 0) == [])
        #expect(NgramProposer(numSpeculativeTokens: 2, minN: 1, maxN: 1).propose([4, 9, 4], limit: 5) == [9, 4])
        #expect(proposer.propose([3], limit: 5) == [])
    }

    @Test("a repetitive output is generated exactly, several tokens per step, and drafts are counted")
    func acceptedDrafts() throws {
        let (core, worker) = try makeCore(specConfig())
        let script = Array(repeating: [11, 12, 13, 14, 15], count: 8).flatMap { $0 }
        worker.scripts["r"] = script
        try core.add(
            EngineRequest(
                requestID: "r", promptTokenIDs: [3, 4, 5], samplingParams: params(maxTokens: 40, ignoreEOS: true)))
        let completion = collect(core.runUntilIdle())["r"]
        #expect(completion?.tokenIDs == script)
        #expect(completion?.finishReason == .length)
        let decodeSteps = worker.history.count - 1
        #expect(decodeSteps < 20, "\(decodeSteps) steps for 40 tokens")
        let stats = core.stats
        #expect(
            stats.numAcceptedDraftTokensTotal > 20 && stats.numDraftTokensTotal >= stats.numAcceptedDraftTokensTotal)
        #expect(stats.numGenerationTokensTotal == 40)
        #expect(worker.history.allSatisfy { ($0.scheduledSpecDecodeTokens["r"]?.count ?? 0) <= 4 })
        #expect(worker.violations.isEmpty)
    }

    /// `count` tokens of a motif repeated, each replaced by another token with probability 1/4: drafts
    /// from the repetition are accepted in runs and rejected at the replacements.
    static func noisyRepetition(count: Int, rng: inout TestRNG) -> [Int] {
        let motif = (0..<Int.random(in: 2...5, using: &rng)).map { _ in Int.random(in: 2..<40, using: &rng) }
        return (0..<count).map { i in
            Int.random(in: 0..<4, using: &rng) == 0 ? Int.random(in: 2..<40, using: &rng) : motif[i % motif.count]
        }
    }

    @Test(
        "with drafts accepted in runs and rejected in between, every request gets exactly its tokens",
        arguments: [1, 3, 8])
    func rejectedDrafts(numSpeculativeTokens: Int) throws {
        let config = specConfig(numSpeculativeTokens, maxNumBatchedTokens: 24)
        let (core, worker) = try makeCore(config)
        var rng = TestRNG(state: UInt64(numSpeculativeTokens))
        var expected: [String: [Int]] = [:]
        for index in 0..<12 {
            let script = Self.noisyRepetition(count: 80, rng: &rng)
            let maxTokens = Int.random(in: 5..<70, using: &rng)
            worker.scripts["r\(index)"] = script
            expected["r\(index)"] = Array(script.prefix(maxTokens))
            try core.add(
                EngineRequest(
                    requestID: "r\(index)", promptTokenIDs: Array(script.prefix(index + 1)).reversed(),
                    samplingParams: params(maxTokens: maxTokens, ignoreEOS: true)))
        }
        let completions = collect(core.runUntilIdle())
        #expect(completions.mapValues(\.tokenIDs) == expected)
        let stats = core.stats
        #expect(stats.numAcceptedDraftTokensTotal > 0 && stats.numDraftTokensTotal > stats.numAcceptedDraftTokensTotal)
        #expect(worker.history.allSatisfy { $0.totalNumScheduledTokens <= 24 })
        #expect(worker.violations.isEmpty, "\(worker.violations.prefix(3))")
    }

    @Test("a stop token or max_tokens inside the accepted drafts ends the output there")
    func stopsInsideDrafts() throws {
        let (core, worker) = try makeCore(specConfig(6))
        let script = Array(repeating: [21, 22, 23], count: 10).flatMap { $0 }
        worker.scripts["stop"] = script
        worker.scripts["length"] = script
        try core.add(
            EngineRequest(
                requestID: "stop", promptTokenIDs: [3, 21, 22, 23],
                samplingParams: params(maxTokens: 40, ignoreEOS: true, stopTokenIDs: [99])))
        try core.add(
            EngineRequest(
                requestID: "length", promptTokenIDs: [3, 21, 22, 23],
                samplingParams: params(maxTokens: 13, ignoreEOS: true)))
        worker.scripts["stop"] = Array(script.prefix(16)) + [99] + script
        let completions = collect(core.runUntilIdle())
        #expect(completions["length"]?.tokenIDs == Array(script.prefix(13)))
        #expect(completions["stop"]?.tokenIDs == Array(script.prefix(16)) + [99])
        #expect(completions["stop"]?.stopReason == .stopTokenID(99))
        #expect(worker.violations.isEmpty)
    }

    @Test("blocks holding rejected drafts are cached only with the accepted tokens")
    func prefixCacheAfterRejections() throws {
        let (core, worker) = try makeCore(specConfig(4))
        var rng = TestRNG(state: 7)
        let script = Self.noisyRepetition(count: 30, rng: &rng)
        worker.scripts["a"] = script
        let first = EngineRequest(
            requestID: "a", promptTokenIDs: [5, 6, 7, 5, 6, 7, 5, 6],
            samplingParams: params(maxTokens: 30, ignoreEOS: true))
        try core.add(first)
        let outputA = collect(core.runUntilIdle())["a"]?.tokenIDs ?? []
        #expect(outputA == script)
        #expect(core.stats.numDraftTokensTotal > core.stats.numAcceptedDraftTokensTotal)
        // A second request whose prompt is the first's whole text reads its blocks from the prefix cache.
        let prompt = first.promptTokenIDs + outputA
        try core.add(
            EngineRequest(requestID: "b", promptTokenIDs: prompt, samplingParams: params(maxTokens: 8, ignoreEOS: true))
        )
        let b = collect(core.runUntilIdle())["b"]
        #expect((b?.numCachedTokens ?? 0) >= 32)
        #expect(
            b?.tokenIDs
                == FakeModel.reference(prompt: prompt, params: params(maxTokens: 8, ignoreEOS: true), maxModelLen: 256))
        #expect(worker.violations.isEmpty, "\(worker.violations.prefix(3))")
    }

    @Test("the allowance grows on acceptance, follows partial acceptance, and backs off on rejection")
    func allowance() {
        var allowance = DraftAllowance(maxDrafts: 4)
        #expect(allowance.next() == 4)
        allowance.record(proposed: 4, accepted: 1)
        #expect(allowance.next() == 2)
        allowance.record(proposed: 2, accepted: 2)
        #expect(allowance.next() == 3)
        allowance.record(proposed: 0, accepted: 0)  // nothing proposed: nothing learnt
        #expect(allowance.next() == 3)
        var skipped: [Int] = []
        for _ in 0..<6 {
            allowance.record(proposed: allowance.limit, accepted: 0)
            var count = 0
            while allowance.next() == 0 { count += 1 }
            skipped.append(count)
        }
        #expect(skipped == [1, 2, 4, 8, 16, 16])
        #expect(allowance.limit == 1)
        allowance.record(proposed: 1, accepted: 1)
        #expect(allowance.next() == 2)
    }

    @Test("a request whose repetitions never continue the same way soon stops drafting")
    func draftsBackOff() throws {
        let (core, worker) = try makeCore(specConfig(4))
        // "7 8 X" with a new X each time: the bigram 7 8 always matches, its continuation never does.
        let script = (0..<40).flatMap { [7, 8, 100 + $0] }
        worker.scripts["r"] = script
        try core.add(
            EngineRequest(
                requestID: "r", promptTokenIDs: [3, 7, 8, 99], samplingParams: params(maxTokens: 120, ignoreEOS: true)))
        #expect(collect(core.runUntilIdle())["r"]?.tokenIDs == script)
        let drafted = worker.history.filter { $0.scheduledSpecDecodeTokens["r"] != nil }.count
        #expect(core.stats.numAcceptedDraftTokensTotal == 0)
        #expect(drafted <= 12, "drafted in \(drafted) of 40 steps where the bigram matched")
        #expect(worker.violations.isEmpty)
    }

    @Test("no drafts while more requests than speculativeDisableByBatchSize run")
    func disabledByBatchSize() throws {
        var config = specConfig(3)
        config.speculativeDisableByBatchSize = 2
        let (core, worker) = try makeCore(config)
        let script = Array(repeating: [31, 32, 33], count: 20).flatMap { $0 }
        for (index, maxTokens) in [12, 12, 50, 50].enumerated() {
            worker.scripts["r\(index)"] = script
            try core.add(
                EngineRequest(
                    requestID: "r\(index)", promptTokenIDs: [3, 31, 32, 33],
                    samplingParams: params(maxTokens: maxTokens, ignoreEOS: true)))
        }
        let completions = collect(core.runUntilIdle())
        #expect(completions.values.allSatisfy { script.starts(with: $0.tokenIDs) })
        let crowded = worker.history.filter { $0.numScheduledTokens.count > 2 }
        #expect(!crowded.isEmpty && crowded.allSatisfy { $0.scheduledSpecDecodeTokens.isEmpty })
        #expect(worker.history.contains { !$0.scheduledSpecDecodeTokens.isEmpty })
        #expect(worker.violations.isEmpty)
    }

    @Test("speculative settings are range-checked")
    func validation() {
        var config = makeConfig()
        config.numSpeculativeTokens = 17
        #expect(throws: EngineError.self) { try config.validate() }
        config.numSpeculativeTokens = 4
        config.promptLookupMin = 5
        #expect(throws: EngineError.self) { try config.validate() }
        config.promptLookupMin = 2
        config.speculativeDisableByBatchSize = -1
        #expect(throws: EngineError.self) { try config.validate() }
    }
}
