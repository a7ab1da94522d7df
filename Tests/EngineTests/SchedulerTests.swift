import Sampling
import Synchronization
import Testing

@testable import Engine

@Suite struct SchedulerTests {
    @Test("every step respects the token budget and maxNumSeqs")
    func budgetAndMaxNumSeqs() throws {
        let (core, worker) = try makeCore(makeConfig(maxNumBatchedTokens: 20, maxNumSeqs: 3))
        for index in 0..<10 {
            try core.add(
                EngineRequest(
                    requestID: "r\(index)", promptTokenIDs: Array(repeating: 5 + index, count: 9),
                    samplingParams: params(maxTokens: 6, ignoreEOS: true)))
        }
        let completions = collect(core.runUntilIdle())
        #expect(completions.count == 10)
        #expect(completions.values.allSatisfy { $0.tokenIDs.count == 6 && $0.finishReason == .length })
        for step in worker.history {
            #expect(step.totalNumScheduledTokens <= 20)
            #expect(step.numScheduledTokens.count <= 3)
        }
        #expect(worker.history.contains { $0.totalNumScheduledTokens == 20 })
        #expect(worker.violations.isEmpty)
    }

    @Test("a long prompt is prefilled in chunks and samples only after its last chunk")
    func chunkedPrefill() throws {
        var config = makeConfig(maxNumBatchedTokens: 16)
        config.longPrefillTokenThreshold = 12
        let (core, worker) = try makeCore(config)
        try core.add(
            EngineRequest(
                requestID: "long", promptTokenIDs: Array(2..<42), samplingParams: params(maxTokens: 2, ignoreEOS: true))
        )
        #expect(core.step().isEmpty)
        #expect(core.step().isEmpty)
        try core.add(
            EngineRequest(
                requestID: "short", promptTokenIDs: [3, 4, 5], samplingParams: params(maxTokens: 2, ignoreEOS: true)))
        let third = core.step()
        #expect(third.map(\.requestID) == ["short"])
        let fourth = core.step()
        #expect(fourth.map(\.requestID).sorted() == ["long", "short"])
        let chunks = worker.history.map { $0.numScheduledTokens["long"] }
        #expect(chunks.prefix(4) == [12, 12, 12, 4])
        // The running long prompt is served before the newly admitted short one.
        #expect(worker.history[2].scheduledRequestIDs == ["long", "short"])
        #expect(worker.history[2].numScheduledTokens["short"] == 3)
        let rest = collect(core.runUntilIdle())
        #expect(rest["long"]?.finishReason == .length)
        #expect(worker.violations.isEmpty)
    }

    @Test("the priority policy admits lower values first, then earlier arrivals")
    func priorityOrder() throws {
        var config = makeConfig(maxNumSeqs: 1)
        config.schedulingPolicy = .priority
        let (core, worker) = try makeCore(config)
        let priorities = [("a", 5, 1.0), ("b", 1, 2.0), ("c", 3, 3.0), ("d", 1, 4.0)]
        for (id, priority, arrival) in priorities {
            try core.add(
                EngineRequest(
                    requestID: id, promptTokenIDs: [7, 8], samplingParams: params(maxTokens: 2, ignoreEOS: true),
                    priority: priority, arrivalTime: arrival))
        }
        _ = core.runUntilIdle()
        let admitted = worker.history.flatMap { $0.scheduledNewRequests.map(\.requestID) }
        #expect(admitted == ["b", "d", "c", "a"])
    }

    @Test("FCFS admits by arrival time regardless of priority")
    func fcfsOrder() throws {
        let (core, worker) = try makeCore(makeConfig(maxNumSeqs: 1))
        for (id, arrival) in [("x", 3.0), ("y", 1.0), ("z", 2.0)] {
            try core.add(
                EngineRequest(
                    requestID: id, promptTokenIDs: [7], samplingParams: params(maxTokens: 1),
                    priority: id == "x" ? -10 : 0, arrivalTime: arrival))
        }
        _ = core.runUntilIdle()
        #expect(worker.history.flatMap { $0.scheduledNewRequests.map(\.requestID) } == ["y", "z", "x"])
    }

    @Test("preempted requests are recomputed and end with the tokens of an uninterrupted run")
    func preemptionGivesSameTokens() throws {
        var config = makeConfig(numBlocks: 10, blockSize: 4, maxNumBatchedTokens: 32, maxNumSeqs: 4)
        config.enablePrefixCaching = false
        let (core, worker) = try makeCore(config)
        var expected: [String: [Int]] = [:]
        for index in 0..<4 {
            let prompt = (0..<6).map { 2 + (index * 11 + $0 * 3) % 60 }
            let sampling = params(maxTokens: 12, ignoreEOS: true)
            try core.add(EngineRequest(requestID: "p\(index)", promptTokenIDs: prompt, samplingParams: sampling))
            expected["p\(index)"] = FakeModel.reference(prompt: prompt, params: sampling, maxModelLen: 40)
        }
        let completions = collect(core.runUntilIdle())
        #expect(core.stats.numPreemptionsTotal > 0)
        #expect(worker.history.contains { !$0.preemptedRequestIDs.isEmpty })
        #expect(worker.history.contains { $0.scheduledCachedRequests.contains(where: \.resumedFromPreemption) })
        for (id, tokens) in expected { #expect(completions[id]?.tokenIDs == tokens) }
        #expect(worker.violations.isEmpty)
        #expect(core.stats.numFreeBlocks == 10)
    }

    @Test("an abort takes effect at once, frees the blocks and is told to the worker")
    func abortFreesBlocks() throws {
        let (core, worker) = try makeCore(makeConfig(numBlocks: 16))
        try core.add(
            EngineRequest(
                requestID: "a", promptTokenIDs: Array(2..<20), samplingParams: params(maxTokens: 50, ignoreEOS: true)))
        _ = core.step()
        _ = core.step()
        #expect(core.stats.numFreeBlocks < 16)
        let output = try #require(core.abort("a"))
        #expect(output.finishReason == .abort)
        #expect(core.stats.numFreeBlocks == 16)
        #expect(core.scheduler.kvCacheManager.pool.refCounts.allSatisfy { $0 == 0 })
        #expect(core.abort("a") == nil)
        _ = core.step()
        #expect(worker.history.last?.finishedRequestIDs == ["a"])
        #expect(!core.hasWork)
    }

    @Test("a worker error fails that step's requests and the engine goes on")
    func workerErrorFailsStep() throws {
        let (core, worker) = try makeCore(makeConfig())
        worker.failingSteps = [1]
        try core.add(
            EngineRequest(
                requestID: "a", promptTokenIDs: [2, 3], samplingParams: params(maxTokens: 4, ignoreEOS: true)))
        try core.add(
            EngineRequest(
                requestID: "b", promptTokenIDs: [4, 5], samplingParams: params(maxTokens: 4, ignoreEOS: true)))
        _ = core.step()
        let failed = core.step()
        #expect(failed.count == 2 && failed.allSatisfy { $0.finishReason == .error && $0.errorMessage != nil })
        try core.add(
            EngineRequest(requestID: "c", promptTokenIDs: [6], samplingParams: params(maxTokens: 3, ignoreEOS: true)))
        let later = collect(core.runUntilIdle())
        #expect(later["c"]?.finishReason == .length)
        #expect(core.stats.numWorkerErrorsTotal == 1)
        #expect(core.stats.numFreeBlocks == 64)
    }
}

@Suite struct PreemptionOrderTests {
    /// Three requests fill a 6-block pool; the first decode that needs a new block forces a preemption.
    func firstPreempted(policy: SchedulingPolicy) throws -> Set<String> {
        var config = makeConfig(numBlocks: 6, blockSize: 4, maxNumSeqs: 3)
        config.schedulingPolicy = policy
        config.enablePrefixCaching = false
        let (core, worker) = try makeCore(config)
        for (id, priority, arrival) in [("A", 0, 1.0), ("B", 2, 2.0), ("C", 1, 3.0)] {
            try core.add(
                EngineRequest(
                    requestID: id, promptTokenIDs: Array(2..<9), samplingParams: params(maxTokens: 4, ignoreEOS: true),
                    priority: priority, arrivalTime: arrival))
        }
        _ = core.runUntilIdle()
        #expect(worker.violations.isEmpty)
        return worker.history.first { !$0.preemptedRequestIDs.isEmpty }?.preemptedRequestIDs ?? []
    }

    @Test("under priority the highest priority value is preempted first")
    func priorityVictim() throws {
        #expect(try firstPreempted(policy: .priority) == ["B"])
    }

    @Test("under FCFS the latest arrival is preempted first")
    func fcfsVictim() throws {
        #expect(try firstPreempted(policy: .fcfs) == ["C"])
    }
}

@Suite struct OutputDetailTests {
    @Test("logprobs pass through and timestamps follow the lifecycle")
    func logprobsAndTimings() throws {
        let ticks = TickClock()
        let worker = FakeWorker(numBlocks: 16, blockSize: 4)
        let core = try EngineCore(
            config: makeConfig(numBlocks: 16), worker: worker, tokenizer: FakeTokenizer(), clock: { ticks.next() })
        var sampling = params(maxTokens: 3, ignoreEOS: true)
        sampling.logprobs = 2
        try core.add(EngineRequest(requestID: "l", promptTokenIDs: [2, 3], samplingParams: sampling, arrivalTime: 0))
        let outputs = core.runUntilIdle()
        #expect(outputs.count == 3)
        for output in outputs {
            let logprobs = try #require(output.newLogprobs)
            #expect(logprobs.map(\.tokenID) == output.newTokenIDs)
            #expect(logprobs.first?.topLogprobs.count == 2)
        }
        let last = try #require(outputs.last)
        let timings = last.timings
        let scheduled = try #require(timings.firstScheduledTime)
        let firstToken = try #require(timings.firstTokenTime)
        let lastToken = try #require(timings.lastTokenTime)
        let finished = try #require(timings.finishedTime)
        #expect(0 < scheduled && scheduled < firstToken && firstToken < lastToken && lastToken <= finished)
        #expect(outputs.map(\.timestamp) == outputs.map(\.timestamp).sorted())
        #expect(last.meanTimePerOutputToken == (lastToken - firstToken) / 2)
        #expect(timings.queueTime == scheduled)
    }
}

/// A clock that advances by one second per reading.
final class TickClock: Sendable {
    private let value = Mutex(0.0)
    func next() -> Double {
        value.withLock { value in
            value += 1
            return value
        }
    }
}
