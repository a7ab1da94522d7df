import Engine
import Sampling

/// A deterministic stand-in for a device worker that follows the `Worker` contract literally: it keeps
/// per-request token lists and block tables from the diffs, "computes" positions by writing (token,
/// position) into a simulated paged KV store, and samples from what it reads back from that store. So a
/// wrong block table, a wrong prefix hit or a wrong `numComputedTokens` changes the tokens or is recorded
/// in `violations`.
final class FakeWorker: Worker {
    struct Slot: Equatable {
        var tokenID: Int
        var position: Int
    }

    struct RequestState {
        var tokenIDs: [Int]
        var blockTable: [Int]
        var numComputedTokens: Int
        var numLogprobs: Int?
    }

    let info: WorkerInfo
    let numBlocks: Int
    let blockSize: Int
    /// Scripted outputs per request id (position k of the output = script[k]); others use `FakeModel`.
    var scripts: [String: [Int]] = [:]
    /// Steps (by `stepID`) at which `execute` throws.
    var failingSteps: Set<Int> = []
    private(set) var states: [String: RequestState] = [:]
    private(set) var history: [SchedulerOutput] = []
    private(set) var violations: [String] = []
    var recordsHistory = true
    private var kvStore: [Slot?]

    init(name: String = "fake0", numBlocks: Int, blockSize: Int) {
        info = WorkerInfo(name: name, kind: "fake")
        self.numBlocks = numBlocks
        self.blockSize = blockSize
        kvStore = Array(repeating: nil, count: numBlocks * blockSize)
    }

    struct InjectedFailure: Error {}

    func execute(_ output: SchedulerOutput) throws -> ModelRunnerOutput {
        if recordsHistory { history.append(output) }
        check(output.blockSize == blockSize, "block size")
        for id in output.finishedRequestIDs { states[id] = nil }
        for id in output.preemptedRequestIDs { states[id]?.blockTable = [] }
        for new in output.scheduledNewRequests {
            check(states[new.requestID] == nil, "new request \(new.requestID) already known")
            states[new.requestID] = RequestState(
                tokenIDs: new.promptTokenIDs, blockTable: new.blockIDs, numComputedTokens: new.numComputedTokens,
                numLogprobs: new.samplingParams.logprobs)
        }
        for cached in output.scheduledCachedRequests {
            guard var state = states[cached.requestID] else {
                violations.append("cached request \(cached.requestID) unknown")
                continue
            }
            if cached.resumedFromPreemption {
                state.tokenIDs = cached.resumedTokenIDs ?? []
                state.blockTable = cached.newBlockIDs
                state.numComputedTokens = cached.numComputedTokens
            } else {
                state.blockTable += cached.newBlockIDs
                check(state.numComputedTokens == cached.numComputedTokens, "numComputedTokens of \(cached.requestID)")
            }
            states[cached.requestID] = state
        }
        if failingSteps.contains(output.stepID) { throw InjectedFailure() }
        var sampled: [String: [Int]] = [:]
        var logprobs: [String: [SampleLogprob]] = [:]
        for id in output.scheduledRequestIDs {
            guard let count = output.numScheduledTokens[id] else { continue }
            let tokens = compute(id, count: count, drafts: output.scheduledSpecDecodeTokens[id] ?? [])
            guard !tokens.isEmpty else { continue }
            sampled[id] = tokens
            if let numTop = states[id]?.numLogprobs {
                logprobs[id] = tokens.map { token in
                    let top = (0..<numTop).map { TopLogprob(tokenID: token + $0, logprob: -Float($0) - 0.5) }
                    return SampleLogprob(tokenID: token, logprob: -0.5, topLogprobs: top)
                }
            }
        }
        return ModelRunnerOutput(sampledTokenIDs: sampled, logprobs: logprobs)
    }

    /// Writes KV for the scheduled positions (drafts included); at the end of the known tokens, samples from
    /// the KV store: one token, or with drafts the accepted drafts and the token after them. Afterwards
    /// only positions holding known tokens count as computed, so the scheduler's next `numComputedTokens`
    /// must have taken the rejected drafts back.
    private func compute(_ id: String, count: Int, drafts: [Int]) -> [Int] {
        guard var state = states[id] else { return [] }
        let start = state.numComputedTokens
        let known = state.tokenIDs.count
        check(start + count - drafts.count <= known, "scheduled past the known tokens of \(id)")
        check(drafts.isEmpty || start + count - drafts.count == known, "drafts of \(id) not after its last token")
        check(state.blockTable.count * blockSize >= start + count, "block table of \(id) too short")
        let tokens = state.tokenIDs + drafts
        for position in start..<min(start + count, tokens.count) {
            kvStore[slot(state, position)] = Slot(tokenID: tokens[position], position: position)
        }
        state.numComputedTokens = start + count
        defer { states[id] = state }
        guard state.numComputedTokens - drafts.count == known else { return [] }
        var sampled: [Int] = []
        for draftIndex in 0...drafts.count {
            let end = known + draftIndex
            var context: [Int] = []
            for position in 0..<end {
                let stored = kvStore[slot(state, position)]
                check(stored == Slot(tokenID: tokens[position], position: position), "KV of \(id) at \(position)")
                context.append(stored?.tokenID ?? -1)
            }
            let token = scripts[id].map { script in scriptToken(script, id: id) } ?? FakeModel.next(after: context)
            state.tokenIDs.append(token)
            sampled.append(token)
            if draftIndex == drafts.count || token != drafts[draftIndex] { break }
        }
        state.numComputedTokens = state.tokenIDs.count - 1
        return sampled
    }

    private var scriptPositions: [String: Int] = [:]
    private func scriptToken(_ script: [Int], id: String) -> Int {
        let index = scriptPositions[id, default: 0]
        scriptPositions[id] = index + 1
        return index < script.count ? script[index] : 2
    }

    private func slot(_ state: RequestState, _ position: Int) -> Int {
        state.blockTable[position / blockSize] * blockSize + position % blockSize
    }

    private func check(_ condition: Bool, _ what: String) {
        if !condition { violations.append(what) }
    }
}

/// The fake model: the next token is a hash of the whole context; EOS (1) about once in 40 tokens.
enum FakeModel {
    static func next(after context: [Int]) -> Int {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for token in context {
            hash = (hash ^ UInt64(bitPattern: Int64(token))) &* 0x100_0000_01B3
        }
        hash ^= hash >> 29
        if hash % 40 == 0 { return 1 }
        return Int(hash % 62) + 2
    }

    /// The tokens an uninterrupted run generates, applying the engine's token-level stop rules.
    static func reference(prompt: [Int], params: SamplingParams, maxModelLen: Int, eosTokenID: Int = 1) -> [Int] {
        var tokens = prompt
        var output: [Int] = []
        let limit = min(maxModelLen, prompt.count + params.maxTokens)
        while true {
            let token = next(after: tokens)
            tokens.append(token)
            output.append(token)
            if output.count > params.minTokens {
                if !params.ignoreEOS && token == eosTokenID { break }
                if params.stopTokenIDs.contains(token) { break }
            }
            if tokens.count >= limit { break }
        }
        return output
    }
}
