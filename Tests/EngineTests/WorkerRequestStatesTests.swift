import Sampling
import Testing

@testable import Engine

/// A worker built on `WorkerRequestStates`: KV slots hold token ids; samples come from what they hold.
final class TrackingWorker: Worker {
    let info = WorkerInfo(name: "tracking")
    var states = WorkerRequestStates()
    var kvSlots: [Int?]

    init(numSlots: Int) { kvSlots = Array(repeating: nil, count: numSlots) }

    func execute(_ output: SchedulerOutput) throws -> ModelRunnerOutput {
        var sampled: [String: [Int]] = [:]
        for chunk in try states.apply(output) {
            for (tokenID, slot) in zip(chunk.tokenIDs, chunk.slotMapping) { kvSlots[slot] = tokenID }
            guard chunk.samplesToken, let state = states[chunk.requestID] else { continue }
            let context = (0..<state.tokenIDs.count).map { kvSlots[chunk.slot(of: $0)] ?? -1 }
            let tokenID = FakeModel.next(after: context)
            states.append(tokenID, to: chunk.requestID)
            sampled[chunk.requestID] = [tokenID]
        }
        return ModelRunnerOutput(sampledTokenIDs: sampled)
    }
}

@Suite struct WorkerRequestStatesTests {
    @Test("a worker built on WorkerRequestStates reproduces reference tokens through preemption and prefix hits")
    func trackingWorkerMatchesReference() throws {
        var config = makeConfig(numBlocks: 12, blockSize: 4, maxNumBatchedTokens: 24, maxNumSeqs: 4, maxModelLen: 48)
        config.longPrefillTokenThreshold = 10
        let worker = TrackingWorker(numSlots: 48)
        let core = try EngineCore(config: config, worker: worker, tokenizer: FakeTokenizer(), clock: { 0 })
        var rng = TestRNG(state: 7)
        var expected: [String: [Int]] = [:]
        let base = Array(2..<22)
        for index in 0..<200 {
            let prompt = Array(base.prefix(Int.random(in: 0...16, using: &rng))) + [2 + index % 60]
            let sampling = params(maxTokens: Int.random(in: 1...16, using: &rng))
            try core.add(EngineRequest(requestID: "w\(index)", promptTokenIDs: prompt, samplingParams: sampling))
            expected["w\(index)"] = FakeModel.reference(prompt: prompt, params: sampling, maxModelLen: 48)
        }
        let completions = collect(core.runUntilIdle())
        #expect(completions.mapValues(\.tokenIDs) == expected)
        #expect(core.stats.numPreemptionsTotal > 0)
        #expect(core.stats.prefixCacheHits > 0)
        #expect(worker.states.states.isEmpty)
    }

    @Test("a diff naming an unknown request is refused")
    func unknownCachedRequest() {
        var states = WorkerRequestStates()
        let output = SchedulerOutput(
            stepID: 0, scheduledNewRequests: [],
            scheduledCachedRequests: [
                CachedRequestData(
                    requestID: "ghost", resumedFromPreemption: false, resumedTokenIDs: nil, newBlockIDs: [],
                    numComputedTokens: 3)
            ],
            numScheduledTokens: ["ghost": 1], finishedRequestIDs: [], preemptedRequestIDs: [], blockSize: 4)
        #expect(throws: EngineError.inconsistentSchedulerOutput(requestID: "ghost", reason: "unknown cached request")) {
            try states.apply(output)
        }
    }

    @Test("chunks carry positions, slots and whether to sample")
    func chunkLayout() throws {
        var states = WorkerRequestStates()
        let output = SchedulerOutput(
            stepID: 0,
            scheduledNewRequests: [
                NewRequestData(
                    requestID: "a", promptTokenIDs: [10, 11, 12, 13, 14, 15], samplingParams: SamplingParams(),
                    blockIDs: [7, 3], numComputedTokens: 4)
            ], scheduledCachedRequests: [], numScheduledTokens: ["a": 2], finishedRequestIDs: [],
            preemptedRequestIDs: [], blockSize: 4)
        let chunks = try states.apply(output)
        #expect(
            chunks == [
                ScheduledChunk(
                    requestID: "a", startPosition: 4, tokenIDs: [14, 15], blockTable: [7, 3], samplesToken: true,
                    blockSize: 4)
            ])
        #expect(chunks.first?.slotMapping == [12, 13])
        #expect(chunks.first?.slot(of: 1) == 29)
    }
}
