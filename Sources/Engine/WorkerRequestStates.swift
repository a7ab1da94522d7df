import Sampling

/// The per-request bookkeeping a worker keeps between steps, rebuilt from `SchedulerOutput` diffs exactly
/// as the `Worker` contract describes; a worker may use it instead of re-implementing steps 1–6.
///
/// Use: `let chunks = try states.apply(schedulerOutput)`; compute each chunk (positions
/// `startPosition ..< startPosition + tokenIDs.count` into the slots of `blockTable`); for chunks with
/// `samplesToken`, sample and call `append(_:to:)`. Invariants: a state's `blockTable` covers its
/// `numComputedTokens`; `tokenIDs` = prompt + tokens appended by the worker (or resumed from the engine).
public struct WorkerRequestStates: Sendable {
    public private(set) var states: [String: WorkerRequestState] = [:]

    public init() {}

    public subscript(requestID: String) -> WorkerRequestState? { states[requestID] }

    /// Applies a step's diff; returns one chunk per scheduled request in `scheduledRequestIDs` order.
    /// Throws when the diff contradicts the state (unknown cached request, positions past the known tokens,
    /// a block table too short).
    public mutating func apply(_ output: SchedulerOutput) throws(EngineError) -> [ScheduledChunk] {
        for requestID in output.finishedRequestIDs { states[requestID] = nil }
        for requestID in output.preemptedRequestIDs { states[requestID]?.blockTable = [] }
        for new in output.scheduledNewRequests {
            states[new.requestID] = WorkerRequestState(
                requestID: new.requestID, samplingParams: new.samplingParams,
                numPromptTokens: new.promptTokenIDs.count, tokenIDs: new.promptTokenIDs, blockTable: new.blockIDs,
                numComputedTokens: new.numComputedTokens)
        }
        for cached in output.scheduledCachedRequests {
            guard var state = states[cached.requestID] else {
                throw .inconsistentSchedulerOutput(requestID: cached.requestID, reason: "unknown cached request")
            }
            if cached.resumedFromPreemption {
                state.tokenIDs = cached.resumedTokenIDs ?? state.tokenIDs
                state.blockTable = cached.newBlockIDs
            } else {
                state.blockTable += cached.newBlockIDs
            }
            state.numComputedTokens = cached.numComputedTokens
            states[cached.requestID] = state
        }
        return try output.scheduledRequestIDs.map { requestID throws(EngineError) in
            try chunk(
                requestID, count: output.numScheduledTokens[requestID] ?? 0,
                drafts: output.scheduledSpecDecodeTokens[requestID] ?? [], blockSize: output.blockSize)
        }
    }

    private mutating func chunk(_ requestID: String, count: Int, drafts: [Int], blockSize: Int) throws(EngineError)
        -> ScheduledChunk
    {
        guard var state = states[requestID] else {
            throw .inconsistentSchedulerOutput(requestID: requestID, reason: "scheduled but unknown")
        }
        let start = state.numComputedTokens
        let end = start + count - drafts.count
        if !drafts.isEmpty && end != state.tokenIDs.count {
            throw .inconsistentSchedulerOutput(requestID: requestID, reason: "drafts scheduled before the last token")
        }
        if end > state.tokenIDs.count {
            throw .inconsistentSchedulerOutput(
                requestID: requestID, reason: "positions up to \(end) scheduled, \(state.tokenIDs.count) known")
        }
        if state.blockTable.count * blockSize < end {
            throw .inconsistentSchedulerOutput(requestID: requestID, reason: "block table too short for \(end)")
        }
        if state.blockTable.count * blockSize < end + drafts.count {
            throw .inconsistentSchedulerOutput(requestID: requestID, reason: "block table too short for the drafts")
        }
        state.numComputedTokens = end + drafts.count
        states[requestID] = state
        return ScheduledChunk(
            requestID: requestID, startPosition: start, tokenIDs: Array(state.tokenIDs[start..<end]) + drafts,
            blockTable: state.blockTable, samplesToken: end == state.tokenIDs.count, blockSize: blockSize,
            draftTokenIDs: drafts)
    }

    /// Records a token sampled for a request (after a chunk with `samplesToken`; one call per token).
    public mutating func append(_ tokenID: Int, to requestID: String) {
        states[requestID]?.tokenIDs.append(tokenID)
    }
}

/// What a worker knows about one request between steps.
public struct WorkerRequestState: Sendable {
    public let requestID: String
    public let samplingParams: SamplingParams
    public let numPromptTokens: Int
    /// Prompt + generated tokens (the last one may not be computed yet).
    public internal(set) var tokenIDs: [Int]
    /// KV block ids of positions `0 ..< blockTable.count * blockSize`.
    public internal(set) var blockTable: [Int]
    /// Positions whose KV is in the cache (after `apply`, including the step's chunk).
    public internal(set) var numComputedTokens: Int

    /// Generated tokens (for penalties).
    public var outputTokenIDs: ArraySlice<Int> { tokenIDs[numPromptTokens...] }
}

/// One request's work in one step.
public struct ScheduledChunk: Sendable, Equatable {
    public var requestID: String
    /// Position of the chunk's first token.
    public var startPosition: Int
    /// The tokens at positions `startPosition ..< startPosition + tokenIDs.count`.
    public var tokenIDs: [Int]
    /// The request's whole block table (covers every position up to the chunk's end).
    public var blockTable: [Int]
    /// True when the chunk ends at the request's last known token: sample one token from its last position
    /// (with drafts: from the last known token's position on, until a sample differs from its draft).
    public var samplesToken: Bool
    public var blockSize: Int
    /// Draft tokens to verify, the last `draftTokenIDs.count` of `tokenIDs` (speculative decoding).
    public var draftTokenIDs: [Int] = []

    /// The KV slot (`block * blockSize + offset`) of a position of this request.
    public func slot(of position: Int) -> Int {
        blockTable[position / blockSize] * blockSize + position % blockSize
    }

    /// The slots of the chunk's positions, in order.
    public var slotMapping: [Int] { (startPosition..<startPosition + tokenIDs.count).map(slot(of:)) }
}
