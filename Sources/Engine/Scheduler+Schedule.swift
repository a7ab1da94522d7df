/// The phases of one scheduling step: running requests first, then waiting ones, then the worker's diff.
extension Scheduler {
    /// Plans one step and returns what the worker must compute. Commits the plan: scheduled requests'
    /// `numComputedTokens` include this step's tokens afterwards.
    func schedule(now: Double) -> SchedulerOutput {
        var plan = StepPlan(tokenBudget: config.maxNumBatchedTokens)
        scheduleRunning(&plan)
        if plan.preempted.isEmpty { scheduleWaiting(&plan) }
        return makeOutput(plan, now: now)
    }

    /// Phase 1: each running request gets its next prefill chunk or one decode token while the budget
    /// lasts, in admission order under FCFS and priority order under `.priority`. When the KV cache is
    /// full, the least urgent running request is preempted (possibly the one being scheduled, which ends
    /// the phase).
    func scheduleRunning(_ plan: inout StepPlan) {
        if config.schedulingPolicy == .priority {
            running.sort { RequestQueue.precedes($0, $1, policy: .priority) }  // most urgent get the budget first
        }
        let cap = config.speculativeDisableByBatchSize
        let drafting = proposer != nil && (cap == 0 || running.count <= cap)
        var index = 0
        while index < running.count && plan.tokenBudget > 0 {
            let request = running[index]
            var drafts = drafting ? proposeDrafts(request, budget: plan.tokenBudget) : []
            var numNewTokens = capped(request.numTokens - request.numComputedTokens, budget: plan.tokenBudget)
            precondition(numNewTokens > 0, "running request \(request.requestID) has nothing to compute")
            var newBlocks: [Int]?
            while newBlocks == nil {
                newBlocks = kvCacheManager.allocateSlots(
                    requestID: request.requestID, numComputedTokens: request.numComputedTokens,
                    numNewTokens: numNewTokens + drafts.count)
                if newBlocks != nil { break }
                if !drafts.isEmpty {  // no room for the drafts: decode without them before preempting anyone
                    drafts = []
                    continue
                }
                guard let victim = preemptionVictim(), let victimIndex = running.firstIndex(where: { $0 === victim })
                else { break }
                plan.unschedule(victim)
                preempt(victim)
                plan.preempted.append(victim)
                if victimIndex < index { index -= 1 }
                if victim === request { return }
            }
            guard let blocks = newBlocks else { return }
            numNewTokens += drafts.count
            plan.scheduledRunning.append(request)
            plan.numScheduledTokens[request.requestID] = numNewTokens
            if !drafts.isEmpty { plan.draftTokenIDs[request.requestID] = drafts }
            plan.newBlockIDs[request.requestID] = blocks
            plan.tokenBudget -= numNewTokens
            index += 1
        }
    }

    /// Draft tokens for a decoding request (one token left to compute): as many as the proposer finds, the
    /// request's `DraftAllowance` and the budget allow besides that token, and the request may still
    /// generate after it.
    private func proposeDrafts(_ request: Request, budget: Int) -> [Int] {
        guard let proposer, request.numTokens - request.numComputedTokens == 1 else { return [] }
        var allowance = request.drafts ?? DraftAllowance(maxDrafts: proposer.numSpeculativeTokens)
        let limit = min(allowance.next(), budget - 1, request.maxNumTokens - request.numTokens - 1)
        request.drafts = allowance
        return proposer.propose(request.allTokenIDs, limit: limit)
    }

    /// The running request to give up first: the last in policy order.
    func preemptionVictim() -> Request? {
        let policy = config.schedulingPolicy
        return running.max { RequestQueue.precedes($0, $1, policy: policy) }
    }

    /// Phase 2: admits waiting requests in policy order while budget, sequence slots and blocks last. A
    /// request's prefix-cache hits are attached first; a request whose next prefix block is being computed
    /// by a running request waits a step to share it instead of computing it twice.
    func scheduleWaiting(_ plan: inout StepPlan) {
        guard !waiting.isEmpty else { return }
        var pending = pendingBlockHashes()
        var index = 0
        let blockSize = config.blockSize
        while index < waiting.count && plan.tokenBudget > 0 && running.count < config.maxNumSeqs {
            let request = waiting[index]
            let hashes = request.updateBlockHashes(blockSize: blockSize)
            let hits = kvCacheManager.computedBlocks(blockHashes: hashes, numTokens: request.numTokens)
            let maxHits = (request.numTokens - 1) / blockSize
            if hits.count < min(maxHits, hashes.count), pending.contains(hashes[hits.count]) {
                index += 1
                continue
            }
            let numHitTokens = hits.count * blockSize
            let numRemaining = request.numTokens - numHitTokens
            if !config.enableChunkedPrefill && numRemaining > plan.tokenBudget { break }
            let numNewTokens = capped(numRemaining, budget: plan.tokenBudget)
            guard
                let blocks = kvCacheManager.allocateSlots(
                    requestID: request.requestID, numComputedTokens: 0, numNewTokens: numNewTokens,
                    newComputedBlocks: hits)
            else { break }
            waiting.remove(at: index)
            admit(request, numHitTokens: numHitTokens, numNewTokens: numNewTokens, blocks: blocks, plan: &plan)
            if config.enablePrefixCaching && hashes.count > hits.count { pending.formUnion(hashes[hits.count...]) }
        }
    }

    private func admit(_ request: Request, numHitTokens: Int, numNewTokens: Int, blocks: [Int], plan: inout StepPlan) {
        kvCacheManager.recordPrefixQuery(numTokens: request.numTokens, numHitTokens: numHitTokens)
        if request.status == .preempted {
            plan.scheduledResumed.append(request)
        } else {
            plan.scheduledNew.append(request)
            request.numCachedTokens = numHitTokens
        }
        request.status = .running
        request.numComputedTokens = numHitTokens
        running.append(request)
        plan.numScheduledTokens[request.requestID] = numNewTokens
        plan.newBlockIDs[request.requestID] = blocks
        plan.tokenBudget -= numNewTokens
    }

    /// Hashes of full prompt blocks that running requests are still prefilling (not yet in the prefix cache).
    private func pendingBlockHashes() -> Set<BlockHash> {
        guard config.enablePrefixCaching else { return [] }
        var pending: Set<BlockHash> = []
        for request in running where request.numComputedTokens < request.numPromptTokens {
            let hashes = request.updateBlockHashes(blockSize: config.blockSize)
            let numCached = kvCacheManager.numCachedBlocks(request.requestID)
            if hashes.count > numCached { pending.formUnion(hashes[numCached...]) }
        }
        return pending
    }

    /// Phase 3: the worker's diff, then the commit of the plan.
    func makeOutput(_ plan: StepPlan, now: Double) -> SchedulerOutput {
        let newRequests = plan.scheduledNew.map { request in
            NewRequestData(
                requestID: request.requestID, promptTokenIDs: request.promptTokenIDs,
                samplingParams: request.samplingParams, blockIDs: kvCacheManager.blockTable(request.requestID),
                numComputedTokens: request.numComputedTokens)
        }
        let cachedRequests =
            plan.scheduledRunning.map { request in
                CachedRequestData(
                    requestID: request.requestID, resumedFromPreemption: false, resumedTokenIDs: nil,
                    newBlockIDs: plan.newBlockIDs[request.requestID] ?? [],
                    numComputedTokens: request.numComputedTokens)
            }
            + plan.scheduledResumed.map { request in
                CachedRequestData(
                    requestID: request.requestID, resumedFromPreemption: true,
                    resumedTokenIDs: request.allTokenIDs, newBlockIDs: kvCacheManager.blockTable(request.requestID),
                    numComputedTokens: request.numComputedTokens)
            }
        let output = SchedulerOutput(
            stepID: stepID, scheduledNewRequests: newRequests, scheduledCachedRequests: cachedRequests,
            numScheduledTokens: plan.numScheduledTokens, finishedRequestIDs: finishedSinceLastStep,
            preemptedRequestIDs: Set(plan.preempted.map(\.requestID)), blockSize: config.blockSize,
            scheduledSpecDecodeTokens: plan.draftTokenIDs)
        for request in plan.scheduledRunning + plan.scheduledNew + plan.scheduledResumed {
            request.numComputedTokens += plan.numScheduledTokens[request.requestID] ?? 0
            if request.timings.firstScheduledTime == nil { request.timings.firstScheduledTime = now }
        }
        finishedSinceLastStep = []
        stepID += 1
        numLastStepTokens = output.totalNumScheduledTokens
        return output
    }
}
