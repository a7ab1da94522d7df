import Dispatch

/// The loop thread's body: take submissions and aborts, step the core, deliver outputs, publish stats.
extension EngineLoop {
    func run(_ core: EngineCore) {
        var streams: [String: AsyncStream<RequestOutput>.Continuation] = [:]
        while true {
            let (submissions, aborts, state) = takeInbox()
            var outputs: [RequestOutput] = []
            for submission in submissions {
                do {
                    try core.add(submission.request)
                    streams[submission.request.requestID] = submission.continuation
                } catch {
                    submission.continuation.yield(Self.refusal(submission.request, error: error))
                    submission.continuation.finish()
                    outputs.append(Self.refusal(submission.request, error: error))
                }
            }
            for requestID in aborts { core.abort(requestID).map { outputs.append($0) } }
            if state == .stopping {
                for requestID in Array(streams.keys) { core.abort(requestID).map { outputs.append($0) } }
            }
            let hadWork = core.hasWork
            if hadWork { outputs += core.step(afterSchedule: { self.publishQueue($0) }) }
            let finishedIDs = deliver(outputs, to: &streams)
            publish(core, finishedIDs: finishedIDs)
            if state != .serving && !core.hasWork && streams.isEmpty { break }
            if !core.hasWork {
                wakeup.wait()
            } else if hadWork && core.stats.numTokensLastStep == 0 && outputs.isEmpty {
                _ = wakeup.wait(timeout: .now() + .milliseconds(1))  // nothing schedulable: do not spin
            }
        }
        let waiters = inboxStopped(core)
        for waiter in waiters { waiter.resume() }
    }

    /// Yields outputs to their streams; finishes streams of finished requests. Returns their ids.
    private func deliver(
        _ outputs: [RequestOutput], to streams: inout [String: AsyncStream<RequestOutput>.Continuation]
    ) -> [String] {
        var finishedIDs: [String] = []
        for output in outputs {
            if output.isFinished { finishedIDs.append(output.requestID) }
            guard let continuation = streams[output.requestID] else { continue }
            continuation.yield(output)
            if output.isFinished {
                continuation.finish()
                streams[output.requestID] = nil
            }
        }
        return finishedIDs
    }

    static func refusal(_ request: EngineRequest, error: any Error) -> RequestOutput {
        RequestOutput(
            requestID: request.requestID, newTokenIDs: [], newText: "", numOutputTokens: 0,
            numPromptTokens: request.promptTokenIDs.count, finishReason: .error, errorMessage: "\(error)",
            timestamp: EngineClock.now(), timings: RequestTimings(arrivalTime: request.arrivalTime))
    }
}

extension EngineLoop {
    /// Takes the pending submissions and aborts; counts the submissions as waiting in the core.
    func takeInbox() -> ([Submission], [String], LoopState) {
        inbox.withLock { inbox in
            let submissions = inbox.newRequests
            let aborts = inbox.aborts
            inbox.numWaiting += submissions.count
            inbox.numWaitingTokens += inbox.numNewRequestTokens
            inbox.newRequests = []
            inbox.numNewRequestTokens = 0
            inbox.aborts = []
            return (submissions, aborts, inbox.state)
        }
    }

    /// Publishes the core's stats and waiting counts; retires finished ids.
    func publish(_ core: EngineCore, finishedIDs: [String]) {
        var stats = core.stats
        let numWaitingTokens = core.numWaitingTokens
        inbox.withLock { inbox in
            stats.isAlive = true
            inbox.stats = stats
            inbox.numWaiting = stats.numWaiting
            inbox.numWaitingTokens = numWaitingTokens
            inbox.activeRequestIDs.subtract(finishedIDs)
        }
    }

    /// Publishes the waiting counts right after scheduling (before the possibly long worker call).
    func publishQueue(_ core: EngineCore) {
        let numWaiting = core.numWaiting
        let numWaitingTokens = core.numWaitingTokens
        let numRunning = core.numRunning
        inbox.withLock { inbox in
            inbox.numWaiting = numWaiting
            inbox.numWaitingTokens = numWaitingTokens
            inbox.stats.numWaiting = numWaiting
            inbox.stats.numRunning = numRunning
        }
    }

    /// Marks the loop stopped; returns the tasks waiting for it.
    func inboxStopped(_ core: EngineCore) -> [CheckedContinuation<Void, Never>] {
        var stats = core.stats
        stats.isAlive = false
        return inbox.withLock { inbox in
            inbox.state = .stopped
            inbox.stats = stats
            let waiters = inbox.exitWaiters
            inbox.exitWaiters = []
            return waiters
        }
    }
}
