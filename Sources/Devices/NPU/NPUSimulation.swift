import Engine
import Sampling

/// The capacity planner behind `pangu-serve simulate`: drives a real
/// `EngineCore` (scheduler, KV blocks, chunked prefill) whose worker is an
/// `NPUTimingWorker` and whose clock is the device group's simulated
/// timeline, with a closed loop of `concurrency` clients, and summarises the
/// predicted latencies and throughput.
///
/// Build the core with `clock: { group.clock.reading.simulatedSeconds }` so
/// arrival, first-token and finish times are virtual. Single-threaded.
public enum NPUSimulation {
    /// The synthetic workload: every request has `inputLen` prompt tokens and
    /// generates exactly `outputLen` tokens (EOS ignored).
    public struct Workload: Sendable, Equatable {
        public var inputLen: Int
        public var outputLen: Int
        /// Requests in flight at once (a new one arrives when one finishes).
        public var concurrency: Int
        /// Requests in total.
        public var numRequests: Int

        public init(inputLen: Int, outputLen: Int, concurrency: Int, numRequests: Int? = nil) {
            self.inputLen = inputLen
            self.outputLen = outputLen
            self.concurrency = concurrency
            self.numRequests = numRequests ?? concurrency * 2
        }
    }

    /// Runs `workload` to completion; throws `NPUError.invalidArgument` for a
    /// bad workload, or when the engine rejects a request or stops making progress.
    public static func run(
        core: EngineCore, group: NPUDeviceGroup, workload: Workload, vocabSize: Int
    ) throws -> NPUSimulationReport {
        guard workload.inputLen >= 1, workload.outputLen >= 1, workload.concurrency >= 1, workload.numRequests >= 1
        else { throw NPUError.invalidArgument(name: "workload", reason: "lengths and counts must be >= 1") }
        var params = SamplingParams()
        params.maxTokens = workload.outputLen
        params.ignoreEOS = true
        params.temperature = 0
        var numSubmitted = 0
        var numFinished = 0
        var ttfts: [Double] = []
        var tpots: [Double] = []
        var numOutputTokens = 0
        var numSteps = 0
        var numScheduledSeqs = 0
        let maxSteps = workload.numRequests * (workload.inputLen + workload.outputLen) + 1000
        while numFinished < workload.numRequests {
            while numSubmitted - numFinished < workload.concurrency && numSubmitted < workload.numRequests {
                let prompt = (0..<workload.inputLen).map { (numSubmitted * 7919 + $0 * 104_729 + 1) % vocabSize }
                let request = EngineRequest(
                    requestID: "sim-\(numSubmitted)", promptTokenIDs: prompt, samplingParams: params,
                    arrivalTime: group.clock.reading.simulatedSeconds)
                do { try core.add(request) } catch {
                    throw NPUError.invalidArgument(name: "workload", reason: "the engine rejected a request: \(error)")
                }
                numSubmitted += 1
            }
            guard core.hasWork, numSteps < maxSteps else {
                throw NPUError.invalidArgument(name: "workload", reason: "the engine stopped making progress")
            }
            numScheduledSeqs += core.numRunning
            let outputs = core.step()
            numSteps += 1
            for output in outputs {
                numOutputTokens += output.newTokenIDs.count
                guard output.isFinished else { continue }
                numFinished += 1
                if let ttft = output.timings.timeToFirstToken { ttfts.append(ttft) }
                if let tpot = output.meanTimePerOutputToken { tpots.append(tpot) }
            }
        }
        return NPUSimulationReport(
            timeToFirstToken: ttfts, timePerOutputToken: tpots, numRequests: numFinished,
            numOutputTokens: numOutputTokens, numSteps: numSteps,
            meanNumRunning: Double(numScheduledSeqs) / Double(max(numSteps, 1)),
            simulatedSeconds: group.clock.reading.simulatedSeconds, numCards: group.tensorParallelSize)
    }
}
