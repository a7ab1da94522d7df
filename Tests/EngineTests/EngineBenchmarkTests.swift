import Dispatch
import Foundation
import Testing

@testable import Engine

/// A worker that costs nothing: every scheduled request gets a token. Measures the engine's own overhead.
final class NullWorker: Worker {
    let info = WorkerInfo(name: "null")
    func execute(_ output: SchedulerOutput) throws -> ModelRunnerOutput {
        var sampled: [String: [Int]] = [:]
        for requestID in output.scheduledRequestIDs { sampled[requestID] = [5 + output.stepID % 50] }
        return ModelRunnerOutput(sampledTokenIDs: sampled)
    }
}

@Suite struct EngineBenchmarkTests {
    static let isEnabled = ProcessInfo.processInfo.environment["PANGU_ENGINE_BENCH"] != nil

    /// Prints the engine's per-step overhead with 256 running sequences (run in release with
    /// `PANGU_ENGINE_BENCH=1`; skipped otherwise). Not a timed assertion: it only prints figures.
    @Test("engine overhead per step with 256 running sequences", .enabled(if: isEnabled))
    func stepOverhead() throws {
        var config = EngineConfig(numBlocks: 20_000)
        config.maxNumSeqs = 256
        config.maxNumBatchedTokens = 8192
        let core = try EngineCore(config: config, worker: NullWorker(), tokenizer: FakeTokenizer())
        for index in 0..<512 {
            let prompt = Array(repeating: 2 + index % 60, count: 500) + [index]
            try core.add(
                EngineRequest(
                    requestID: "b\(index)", promptTokenIDs: prompt,
                    samplingParams: params(maxTokens: 200, ignoreEOS: true)))
        }
        let start = DispatchTime.now().uptimeNanoseconds
        var numSteps = 0
        var numOutputs = 0
        while core.hasWork {
            numOutputs += core.step().count
            numSteps += 1
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        print(
            "engine overhead: \(numSteps) steps, \(numOutputs) tokens in \(seconds) s:",
            "\(seconds / Double(numSteps) * 1e6) us/step, \(Double(numOutputs) / seconds) tokens/s")
        #expect(numOutputs == 512 * 200)
    }
}
