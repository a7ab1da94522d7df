import Devices
import Foundation

/// `--max-tpot-ms`: the largest concurrency whose mean time per output token
/// stays within a bound, and the throughput there.
extension SimulateCommand {
    /// One simulated concurrency and its mean TPOT, seconds.
    struct Trial: Equatable {
        let concurrency: Int
        let tpotSeconds: Double
    }

    /// What the search found. Invariant: `best`'s TPOT ≤ the bound, and
    /// `firstOver` (concurrency + step or the next tried one) exceeds it, or
    /// `best` is at `maxConcurrency`.
    struct Search {
        let maxTPOTSeconds: Double
        let maxConcurrency: Int
        let step: Int
        /// The simulation at the largest concurrency within the bound; nil when even `step` exceeds it.
        let best: Result?
        /// The smallest concurrency tried above `best` whose TPOT exceeds the bound; nil when the cap was reached.
        let firstOver: Trial?
        /// Every simulation run, in order.
        let trials: [Trial]

        /// Decode only (no prefill in the steps, as on a decode instance):
        /// the largest batch per instance whose estimated decode step at
        /// mid-output context stays within the bound and fits the KV cache,
        /// and its output tokens/s per card; nil without a simulation.
        var decodeOnly: (batch: Int, tokensPerSecondPerCard: Double)? {
            guard let result = best else { return nil }
            return SimulateCommand.maxDecodeBatch(result, maxStepSeconds: maxTPOTSeconds)
        }
    }

    /// Bisects the decode batch of `result`'s instance (1 ... KV capacity)
    /// whose estimator step stays within `maxStepSeconds`.
    static func maxDecodeBatch(_ result: Result, maxStepSeconds: Double) -> (
        batch: Int, tokensPerSecondPerCard: Double
    )? {
        let w = result.workload
        let context = w.inputLen + w.outputLen / 2
        let capacity = result.numKVBlocks * result.blockSize / (w.inputLen + w.outputLen)
        let estimator = result.group.estimator
        func step(_ batch: Int) -> Double? {
            try? estimator.stepSeconds(.decode(numSeqs: batch, contextLength: context))
        }
        guard capacity >= 1, let first = step(1), first <= maxStepSeconds else { return nil }
        var (good, bad) = (1, capacity + 1)
        while bad - good > 1 {
            let mid = (good + bad) / 2
            if let seconds = step(mid), seconds <= maxStepSeconds { good = mid } else { bad = mid }
        }
        guard let seconds = step(good) else { return nil }
        return (good, Double(good) / seconds / Double(result.group.tensorParallelSize))
    }

    /// Searches concurrencies in multiples of `step` up to `maxConcurrency`
    /// (rounded down to a multiple of `step`, at least `step`): doubling until
    /// the bound is exceeded, then bisecting, assuming TPOT grows with
    /// concurrency. `run` simulates one concurrency.
    static func searchMaxConcurrency(
        maxTPOTSeconds: Double, maxConcurrency: Int, step: Int, run: (Int) throws -> Result
    ) throws -> Search {
        precondition(step >= 1 && maxTPOTSeconds > 0, "search: step and bound must be positive")
        let maxMultiple = max(1, maxConcurrency / step)
        var trials: [Trial] = []
        var results: [Int: Result] = [:]
        func within(_ multiple: Int) throws -> Bool {
            let result = try run(multiple * step)
            let tpot = result.report.timePerOutputToken.mean
            trials.append(Trial(concurrency: multiple * step, tpotSeconds: tpot))
            results[multiple] = result
            return tpot <= maxTPOTSeconds
        }
        func finish(_ good: Int?, _ bad: Int?) -> Search {
            let over = bad.flatMap { b in trials.first { $0.concurrency == b * step } }
            return Search(
                maxTPOTSeconds: maxTPOTSeconds, maxConcurrency: maxMultiple * step, step: step,
                best: good.flatMap { results[$0] }, firstOver: over, trials: trials)
        }
        guard try within(1) else { return finish(nil, 1) }
        var good = 1
        var bad: Int?
        var next = 2
        while bad == nil && good < maxMultiple {
            let candidate = min(next, maxMultiple)
            if try within(candidate) { good = candidate } else { bad = candidate }
            next = candidate * 2
        }
        while let b = bad, b - good > 1 {
            let mid = (good + b) / 2
            if try within(mid) { good = mid } else { bad = mid }
        }
        return finish(good, bad)
    }

    static func table(_ search: Search) -> String {
        let bound = String(format: "%.1f ms", search.maxTPOTSeconds * 1000)
        let tried = search.trials.map { String(format: "%d: %.2f ms", $0.concurrency, $0.tpotSeconds * 1000) }
            .joined(separator: ", ")
        guard let best = search.best else {
            return "no concurrency keeps the mean TPOT within \(bound) (tried \(tried))"
        }
        let limit =
            search.firstOver.map {
                String(format: "concurrency %d exceeds it (%.2f ms)", $0.concurrency, $0.tpotSeconds * 1000)
            }
            ?? "reached --max-concurrency \(search.maxConcurrency)"
        let decode =
            search.decodeOnly.map {
                String(
                    format:
                        "decode only (no prefill in the steps): batch %d per instance, step <= %@, %.0f output tokens/s per card",
                    $0.batch, bound, $0.tokensPerSecondPerCard)
            } ?? "decode only: no batch fits the bound"
        return
            "max TPOT \(bound): largest concurrency \(best.workload.concurrency * best.numDataParallelRanks); \(limit)\n"
            + "tried (concurrency: mean TPOT) \(tried)\n" + decode + "\n" + table(best)
    }

    static func json(_ search: Search) -> String {
        var object: [String: Any] = [
            "max_tpot_ms": search.maxTPOTSeconds * 1000, "max_concurrency": search.maxConcurrency,
            "step": search.step,
            "trials": search.trials.map { ["concurrency": $0.concurrency, "tpot_ms": $0.tpotSeconds * 1000] },
        ]
        if let best = search.best {
            object["best_concurrency"] = best.workload.concurrency * best.numDataParallelRanks
            object["best"] = jsonObject(best)
        }
        if let decode = search.decodeOnly {
            object["decode_only_batch"] = decode.batch
            object["decode_only_tokens_per_second_per_card"] = decode.tokensPerSecondPerCard
        }
        if let over = search.firstOver { object["first_over_concurrency"] = over.concurrency }
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }
}
