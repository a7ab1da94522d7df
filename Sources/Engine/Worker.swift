/// A device worker as the engine sees it: it runs one scheduled step of the model over its paged KV cache
/// and returns the sampled tokens. The only contract between `Engine` and `Devices`.
///
/// Threading: an `EngineLoop` takes ownership of its worker (`sending`) and calls it only from the loop's
/// own thread, one call at a time, so an implementation needs no locking of its own state. `execute` is
/// synchronous and may block (it is the step's compute).
///
/// How to read a `SchedulerOutput` (the worker keeps per-request state built from these diffs):
/// 1. Drop the state of every id in `finishedRequestIDs` (finished, aborted or failed; unknown ids are
///    fine to ignore).
/// 2. For every id in `preemptedRequestIDs`, drop the block table; the engine freed the blocks. Keep the
///    rest (prompt, sampling params, RNG) until the request comes back as resumed or finishes.
/// 3. `scheduledNewRequests`: create state with token list = `promptTokenIDs`, block table = `blockIDs`.
/// 4. `scheduledCachedRequests`: if `resumedFromPreemption`, replace the token list with
///    `resumedTokenIDs` (prompt + every token generated so far) and the block table with `newBlockIDs`;
///    otherwise append `newBlockIDs` to the block table (the token list already holds the worker's own
///    samples).
/// 5. For each scheduled request with `n = numScheduledTokens[id]` and `c` = its `numComputedTokens`:
///    compute positions `c ..< c + n` of its token list, writing their K/V into slot
///    `blockTable[p / blockSize] * blockSize + p % blockSize` for position `p`, attending to positions
///    `0 ..< p + 1` (positions `< c` are already in the KV cache, possibly in blocks shared with other
///    requests through prefix caching: read them, never write them).
/// 6. If `c + n` equals the length of its token list, sample one token from the logits of position
///    `c + n - 1`, append it to the token list and return it in `sampledTokenIDs[id]`. Otherwise (a partial
///    prefill chunk) return nothing for it.
/// 7. Speculative decoding: `scheduledSpecDecodeTokens[id]` holds `d` draft tokens, the last `d` of the `n`
///    scheduled tokens, after the whole token list (so `c + n - d` is its length). Compute all `n`
///    positions, drafts included; then for `i` in `0 ... d` sample from the logits of position
///    `c + n - d - 1 + i`, append the sample, and stop after it unless `i < d` and it equals draft `i`.
///    Return the samples (the accepted drafts and one more token). A worker that ignores drafts and samples
///    once from position `c + n - d - 1` is correct too (every draft rejected). The next step's
///    `numComputedTokens` excludes the rejected drafts, whose KV slots are then written again.
/// The engine records the same sampled tokens, so the next step for that request normally schedules one
/// token: the one just sampled, at position `c + n`.
///
/// Also guaranteed: block ids are in `0 ..< EngineConfig.numBlocks` (the worker holds `numBlocks *
/// blockSize` KV slots per layer); a block shared through prefix caching was fully computed in an earlier
/// step, so the requests of one step can be computed in any order or together; a token sampled for a
/// request the engine then stops is simply dropped (the id arrives in `finishedRequestIDs` next step).
/// Recomputation after preemption must give the same tokens as an uninterrupted run, so keep a seeded
/// request's RNG across preemption (or derive it from the seed and the number of generated tokens).
public protocol Worker: AnyObject {
    /// Name and capacity, read once when the loop starts.
    var info: WorkerInfo { get }

    /// Runs one step. Called with `totalNumScheduledTokens == 0` only to deliver `finishedRequestIDs` or
    /// `preemptedRequestIDs`; return an empty `ModelRunnerOutput` then. A thrown error fails the requests
    /// scheduled in this step (finish reason `.error`); the loop goes on with the next step.
    func execute(_ schedulerOutput: SchedulerOutput) throws -> ModelRunnerOutput
}

/// What a worker tells the engine about itself; reported in `EngineStats` and used in logs.
public struct WorkerInfo: Sendable, Equatable {
    /// Short unique name, e.g. `cpu0`, `npu1`.
    public var name: String
    /// Device kind for humans, e.g. `CPU (16 threads)`, `Ascend 910B (simulated)`.
    public var kind: String

    public init(name: String, kind: String = "") {
        self.name = name
        self.kind = kind
    }
}
