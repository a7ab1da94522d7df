/// Folding a step's results back into the requests: sampled tokens, stop conditions, text, finishing.
extension Scheduler {
    /// Applies the worker's samples for a step planned by `schedule`; returns one output per request that
    /// produced tokens or finished. Finished requests release their blocks here.
    func update(_ schedulerOutput: SchedulerOutput, _ runnerOutput: ModelRunnerOutput, now: Double) -> [RequestOutput] {
        var outputs: [RequestOutput] = []
        for requestID in schedulerOutput.scheduledRequestIDs {
            guard let request = requests[requestID], request.status == .running else { continue }
            if let drafts = schedulerOutput.scheduledSpecDecodeTokens[requestID] {
                guard verifyDrafts(request, drafts, sampled: runnerOutput.sampledTokenIDs[requestID] ?? []) else {
                    outputs.append(fail(request, message: "worker broke the draft contract for \(requestID)", now: now))
                    continue
                }
            }
            cacheComputedBlocks(request)
            guard request.numComputedTokens >= request.numTokens else { continue }  // partial prefill chunk
            guard let sampled = runnerOutput.sampledTokenIDs[requestID], !sampled.isEmpty else {
                outputs.append(fail(request, message: "worker returned no token for \(requestID)", now: now))
                continue
            }
            outputs.append(appendTokens(request, sampled, logprobs: runnerOutput.logprobs[requestID], now: now))
        }
        return outputs
    }

    /// Takes the rejected drafts back out of the request's computed tokens (their KV slots will be
    /// overwritten): the worker returned the accepted drafts, then one sampled token. False when the
    /// returned tokens do not start with the accepted drafts or outnumber the drafts by more than one.
    private func verifyDrafts(_ request: Request, _ drafts: [Int], sampled: [Int]) -> Bool {
        guard !sampled.isEmpty else { return true }  // reported by `update` as a missing token
        let numAccepted = sampled.count - 1
        guard numAccepted <= drafts.count, sampled.prefix(numAccepted).elementsEqual(drafts.prefix(numAccepted))
        else { return false }
        request.numComputedTokens -= drafts.count - numAccepted
        request.drafts?.record(proposed: drafts.count, accepted: numAccepted)
        numDraftTokensTotal += drafts.count
        numAcceptedDraftTokensTotal += numAccepted
        return true
    }

    /// Registers the request's newly completed full blocks in the prefix cache.
    private func cacheComputedBlocks(_ request: Request) {
        guard config.enablePrefixCaching else { return }
        let numFullBlocks = request.numComputedTokens / config.blockSize
        guard numFullBlocks > kvCacheManager.numCachedBlocks(request.requestID) else { return }
        kvCacheManager.cacheFullBlocks(
            requestID: request.requestID, blockHashes: request.updateBlockHashes(blockSize: config.blockSize),
            numComputedTokens: request.numComputedTokens)
    }

    /// Fails every request of a step whose execution threw.
    func failStep(_ schedulerOutput: SchedulerOutput, message: String, now: Double) -> [RequestOutput] {
        schedulerOutput.scheduledRequestIDs.compactMap { requestID in
            requests[requestID].map { fail($0, message: message, now: now) }
        }
    }

    /// Aborts a request wherever it is; nil if unknown or already finished.
    func abort(_ requestID: String, now: Double) -> RequestOutput? {
        guard let request = requests[requestID] else { return nil }
        finish(request, reason: .abort, now: now)
        return makeRequestOutput(request, newTokenIDs: [], text: "", finishReason: .abort, now: now)
    }

    func fail(_ request: Request, message: String, now: Double) -> RequestOutput {
        finish(request, reason: .error, now: now)
        var output = makeRequestOutput(request, newTokenIDs: [], text: "", finishReason: .error, now: now)
        output.errorMessage = message
        return output
    }

    private func appendTokens(
        _ request: Request, _ sampled: [Int], logprobs: [SampleLogprob]?, now: Double
    ) -> RequestOutput {
        var accepted: [Int] = []
        var stop: (reason: FinishReason, stopReason: StopReason?)?
        for tokenID in sampled {
            request.appendOutputToken(tokenID)
            accepted.append(tokenID)
            stop = checkStop(request, tokenID)
            if stop != nil { break }
        }
        if request.timings.firstTokenTime == nil {
            request.timings.firstTokenTime = now
            numPromptTokensTotal += request.numPromptTokens
        }
        request.timings.lastTokenTime = now
        numGenerationTokensTotal += accepted.count
        let checkStops = request.numOutputTokens > request.samplingParams.minTokens
        var (text, matchedStop) = request.text.append(accepted, checkStops: checkStops)
        if matchedStop == nil && stop != nil {
            let (rest, lateStop) = request.text.finish(checkStops: checkStops)
            text += rest
            matchedStop = lateStop
        }
        if let matchedStop { stop = (.stop, .stopString(matchedStop)) }
        if let stop { finish(request, reason: stop.reason, now: now) }
        var output = makeRequestOutput(
            request, newTokenIDs: accepted, text: text, finishReason: stop?.reason, now: now)
        output.stopReason = stop?.stopReason
        if request.samplingParams.logprobs != nil, let logprobs {
            output.newLogprobs = Array(logprobs.prefix(accepted.count))
        }
        return output
    }

    /// Token-level stop conditions after appending `tokenID`: EOS and stop ids (only after `minTokens`
    /// tokens), then `maxTokens` and `maxModelLen`.
    private func checkStop(_ request: Request, _ tokenID: Int) -> (FinishReason, StopReason?)? {
        let params = request.samplingParams
        if request.numOutputTokens > params.minTokens {
            if !params.ignoreEOS && eosTokenIDs.contains(tokenID) { return (.stop, .eos(tokenID: tokenID)) }
            if params.stopTokenIDs.contains(tokenID) { return (.stop, .stopTokenID(tokenID)) }
        }
        if request.numTokens >= request.maxNumTokens { return (.length, nil) }
        return nil
    }

    func makeRequestOutput(
        _ request: Request, newTokenIDs: [Int], text: String, finishReason: FinishReason?, now: Double
    ) -> RequestOutput {
        RequestOutput(
            requestID: request.requestID, newTokenIDs: newTokenIDs, newText: text, newLogprobs: nil,
            numOutputTokens: request.numOutputTokens, numPromptTokens: request.numPromptTokens,
            numCachedTokens: request.numCachedTokens ?? 0, finishReason: finishReason, stopReason: nil,
            errorMessage: nil, timestamp: now, timings: request.timings)
    }
}
