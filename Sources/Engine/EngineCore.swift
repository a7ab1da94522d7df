import Tokenizers

/// One engine replica without threads: a scheduler, a worker and the text processing, driven one `step()`
/// at a time. `EngineLoop` runs it on a dedicated thread; tests and offline tools call it directly.
///
/// Not thread-safe: use it from one thread. Each step: schedule → worker `execute` → update (tokens, stop
/// conditions, text) → outputs; finished requests' blocks are free when `step()` returns. A worker error
/// fails that step's requests and nothing else.
public final class EngineCore {
    public let config: EngineConfig
    public let workerInfo: WorkerInfo
    private let worker: any Worker
    private let tokenizer: any Tokenizer
    private let clock: @Sendable () -> Double
    let scheduler: Scheduler
    private var nextSequenceNumber = 0
    private var numFinishedByReason: [FinishReason: Int] = [:]
    private var numWorkerErrorsTotal = 0

    /// - Parameters:
    ///   - eosTokenIDs: ids that end generation (unless `ignoreEOS`); default the tokenizer's EOS.
    ///   - clock: source of timestamps (seconds); default `EngineClock.now`.
    public init(
        config: EngineConfig, worker: any Worker, tokenizer: any Tokenizer, eosTokenIDs: Set<Int>? = nil,
        clock: @escaping @Sendable () -> Double = EngineClock.now
    ) throws(EngineError) {
        try config.validate()
        self.config = config
        self.worker = worker
        self.workerInfo = worker.info
        self.tokenizer = tokenizer
        self.clock = clock
        scheduler = Scheduler(
            config: config, eosTokenIDs: eosTokenIDs ?? Set(tokenizer.eosTokenID.map { [$0] } ?? []))
    }

    /// Whether `step()` has anything to do.
    public var hasWork: Bool { scheduler.hasWork }
    public var numWaiting: Int { scheduler.waiting.count }
    public var numWaitingTokens: Int { scheduler.waiting.numTokens }
    public var numRunning: Int { scheduler.running.count }

    /// The lifecycle state of an active request; nil when unknown or finished.
    public func status(of requestID: String) -> RequestStatus? { scheduler.request(requestID)?.status }

    /// Validates and queues a request. Throws for bad input, a duplicate id or a full waiting queue.
    public func add(_ request: EngineRequest) throws(EngineError) {
        try request.validate(maxModelLen: scheduler.maxModelLen)
        if scheduler.request(request.requestID) != nil { throw .duplicateRequestID(request.requestID) }
        let waiting = scheduler.waiting
        if waiting.count + 1 > config.maxNumWaitingRequests
            || waiting.numTokens + request.promptTokenIDs.count > config.maxNumWaitingTokens
        {
            throw .queueFull(numWaitingRequests: waiting.count, numWaitingTokens: waiting.numTokens)
        }
        let text = OutputTextProcessor(
            tokenizer: tokenizer, promptTokenIDs: request.promptTokenIDs, stop: request.stop,
            includeStopStrInOutput: request.includeStopStrInOutput, skipSpecialTokens: request.skipSpecialTokens)
        scheduler.add(
            Request(request, sequenceNumber: nextSequenceNumber, maxModelLen: scheduler.maxModelLen, text: text))
        nextSequenceNumber += 1
    }

    /// Aborts a request now (its blocks are free on return); returns its final output, nil if unknown.
    @discardableResult
    public func abort(_ requestID: String) -> RequestOutput? {
        guard let output = scheduler.abort(requestID, now: clock()) else { return nil }
        numFinishedByReason[.abort, default: 0] += 1
        return output
    }

    /// Runs one step: schedule, execute on the worker, fold the results in. Returns this step's outputs
    /// (one per request that produced tokens or finished), in scheduling order. `afterSchedule` runs
    /// between scheduling and the worker call (the loop publishes its queue counts there).
    public func step(afterSchedule: (EngineCore) -> Void = { _ in }) -> [RequestOutput] {
        guard scheduler.hasWork else { return [] }
        let schedulerOutput = scheduler.schedule(now: clock())
        afterSchedule(self)
        if schedulerOutput.totalNumScheduledTokens == 0 && schedulerOutput.finishedRequestIDs.isEmpty
            && schedulerOutput.preemptedRequestIDs.isEmpty
        {
            return []
        }
        let outputs: [RequestOutput]
        do {
            let runnerOutput = try worker.execute(schedulerOutput)
            outputs = scheduler.update(schedulerOutput, runnerOutput, now: clock())
        } catch {
            numWorkerErrorsTotal += 1
            outputs = scheduler.failStep(
                schedulerOutput, message: "worker \(workerInfo.name) failed: \(error)", now: clock())
        }
        for case let reason? in outputs.map(\.finishReason) { numFinishedByReason[reason, default: 0] += 1 }
        return outputs
    }

    /// Runs steps until no request is left; returns every output (for tests and offline batch use).
    public func runUntilIdle(maxSteps: Int = .max) -> [RequestOutput] {
        var outputs: [RequestOutput] = []
        var steps = 0
        while hasWork && steps < maxSteps {
            outputs += step()
            steps += 1
        }
        return outputs
    }

    /// A snapshot of the counters and gauges.
    public var stats: EngineStats {
        let kv = scheduler.kvCacheManager
        var stats = EngineStats()
        stats.workerName = workerInfo.name
        stats.numRunning = scheduler.running.count
        stats.numWaiting = scheduler.waiting.count
        stats.kvCacheUsage = kv.pool.usage
        stats.numBlocksTotal = kv.pool.numBlocks
        stats.numFreeBlocks = kv.pool.numFreeBlocks
        stats.numTokensLastStep = scheduler.numLastStepTokens
        stats.numStepsTotal = scheduler.stepID
        stats.numPreemptionsTotal = scheduler.numPreemptionsTotal
        stats.prefixCacheQueries = kv.numQueriedTokens
        stats.prefixCacheHits = kv.numHitTokens
        stats.numPromptTokensTotal = scheduler.numPromptTokensTotal
        stats.numGenerationTokensTotal = scheduler.numGenerationTokensTotal
        stats.numDraftTokensTotal = scheduler.numDraftTokensTotal
        stats.numAcceptedDraftTokensTotal = scheduler.numAcceptedDraftTokensTotal
        stats.numFinishedByReason = numFinishedByReason
        stats.numWorkerErrorsTotal = numWorkerErrorsTotal
        stats.lastActivityTime = clock()
        return stats
    }
}
