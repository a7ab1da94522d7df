import Dispatch
import Sampling
import Testing

@testable import Engine

/// Joins a stream's outputs.
func consume(_ stream: AsyncStream<RequestOutput>) async -> Completion {
    var outputs: [RequestOutput] = []
    for await output in stream { outputs.append(output) }
    return collect(outputs).values.first ?? Completion()
}

/// A worker that blocks in every step until the test opens the gate; samples token 5 for every request.
final class GatedWorker: Worker {
    let info = WorkerInfo(name: "gated")
    let gate: DispatchSemaphore
    init(gate: DispatchSemaphore) { self.gate = gate }

    func execute(_ output: SchedulerOutput) throws -> ModelRunnerOutput {
        gate.wait()
        return ModelRunnerOutput(sampledTokenIDs: output.numScheduledTokens.mapValues { _ in [5] })
    }
}

@Suite struct EngineLoopTests {
    let tokenizer = FakeTokenizer()

    func request(_ id: String, prompt: [Int], maxTokens: Int = 8) -> EngineRequest {
        EngineRequest(
            requestID: id, promptTokenIDs: prompt, samplingParams: params(maxTokens: maxTokens, ignoreEOS: true))
    }

    @Test("concurrent submitters get their own complete streams from one loop")
    func concurrentSubmitters() async throws {
        let config = makeConfig(numBlocks: 32, blockSize: 4, maxNumBatchedTokens: 32, maxNumSeqs: 4)
        let loop = try EngineLoop(config: config, worker: FakeWorker(numBlocks: 32, blockSize: 4), tokenizer: tokenizer)
        let results = try await withThrowingTaskGroup(of: (String, Completion).self) { group in
            for index in 0..<40 {
                let stream = try loop.submit(request("c\(index)", prompt: [2 + index % 60, 3, 4]))
                group.addTask { ("c\(index)", await consume(stream)) }
            }
            var results: [String: Completion] = [:]
            for try await (id, completion) in group { results[id] = completion }
            return results
        }
        for index in 0..<40 {
            let prompt = [2 + index % 60, 3, 4]
            let expected = FakeModel.reference(
                prompt: prompt, params: params(maxTokens: 8, ignoreEOS: true), maxModelLen: 256)
            #expect(results["c\(index)"]?.tokenIDs == expected)
            #expect(results["c\(index)"]?.text == tokenizer.decode(expected))
        }
        await loop.waitForStats { $0.numRunning == 0 && $0.numFreeBlocks == 32 }
        #expect(loop.stats.numFinishedByReason[.length] == 40)
        loop.shutdown(drain: true)
        await loop.waitUntilStopped()
        #expect(!loop.isAlive)
        #expect(throws: EngineError.shuttingDown) { try loop.submit(request("late", prompt: [2])) }
    }

    @Test("the waiting queue limit refuses submissions while the loop is busy")
    func queueFullWhileBusy() async throws {
        var config = makeConfig(maxNumSeqs: 1)
        config.maxNumWaitingRequests = 2
        let gate = DispatchSemaphore(value: 0)
        let loop = try EngineLoop(config: config, worker: GatedWorker(gate: gate), tokenizer: tokenizer)
        let first = try loop.submit(request("a", prompt: [2], maxTokens: 1))
        await loop.waitForStats { $0.numWaiting == 0 }  // "a" is running, blocked in the worker
        let second = try loop.submit(request("b", prompt: [2], maxTokens: 1))
        let third = try loop.submit(request("c", prompt: [2], maxTokens: 1))
        #expect(throws: EngineError.queueFull(numWaitingRequests: 2, numWaitingTokens: 2)) {
            try loop.submit(request("d", prompt: [2], maxTokens: 1))
        }
        #expect(throws: EngineError.duplicateRequestID("b")) { try loop.submit(request("b", prompt: [2])) }
        for _ in 0..<8 { gate.signal() }
        #expect(await consume(first).tokenIDs == [5])
        #expect(await consume(second).finishReason == .length)
        #expect(await consume(third).finishReason == .length)
        loop.shutdown(drain: false)
        await loop.waitUntilStopped()
    }

    @Test("a failing step fails its requests and the loop serves the next ones")
    func workerErrorKeepsLoopRunning() async throws {
        let worker = FakeWorker(numBlocks: 16, blockSize: 4)
        worker.failingSteps = [0]
        let loop = try EngineLoop(config: makeConfig(numBlocks: 16), worker: worker, tokenizer: tokenizer)
        let failed = await consume(try loop.submit(request("x", prompt: [2, 3])))
        #expect(failed.finishReason == .error)
        let served = await consume(try loop.submit(request("y", prompt: [2, 3])))
        #expect(served.finishReason == .length && served.tokenIDs.count == 8)
        #expect(loop.isAlive)
        #expect(loop.stats.numWorkerErrorsTotal == 1)
        loop.shutdown(drain: true)
        await loop.waitUntilStopped()
    }

    @Test("cancelling a consumer aborts its request and frees its blocks")
    func cancellationAborts() async throws {
        let config = makeConfig(numBlocks: 16, maxModelLen: 64)
        let loop = try EngineLoop(config: config, worker: FakeWorker(numBlocks: 16, blockSize: 4), tokenizer: tokenizer)
        let stream = try loop.submit(request("long", prompt: [2, 3], maxTokens: 1_000_000))
        let consumer = Task { await consume(stream) }
        await loop.waitForStats { $0.numGenerationTokensTotal > 0 }
        consumer.cancel()
        _ = await consumer.value
        await loop.waitForStats { $0.numRunning == 0 && $0.numFreeBlocks == 16 }
        #expect(!loop.isActive("long"))
        loop.shutdown(drain: true)
        await loop.waitUntilStopped()
    }

    @Test("shutdown without drain aborts the active requests")
    func shutdownAborts() async throws {
        let config = makeConfig(numBlocks: 16, maxModelLen: 64)
        let loop = try EngineLoop(config: config, worker: FakeWorker(numBlocks: 16, blockSize: 4), tokenizer: tokenizer)
        let streams = try loop.submit([
            request("s1", prompt: [2], maxTokens: 1_000_000), request("s2", prompt: [3], maxTokens: 1_000_000),
        ])
        loop.shutdown(drain: false)
        for stream in streams {
            let reason = await consume(stream).finishReason
            #expect(reason == .abort || reason == .length)
        }
        await loop.waitUntilStopped()
        #expect(loop.state == .stopped)
    }
}

extension EngineLoop {
    /// Waits (yielding, bounded) until the published stats satisfy `condition`.
    func waitForStats(_ condition: (EngineStats) -> Bool) async {
        for _ in 0..<20_000 {
            if condition(stats) { return }
            try? await Task.sleep(for: .milliseconds(1))
        }
        Issue.record("stats condition never held: \(stats)")
    }
}
