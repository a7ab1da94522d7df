import Sampling

/// The engine's mutable record of one request while it lives in a loop: its tokens, progress, KV prefix
/// hashes, text state and timings.
///
/// Owned by the loop thread (never crosses threads). Invariants: `allTokenIDs` = prompt + output;
/// `numComputedTokens <= numTokens`; `numComputedTokens` is 0 unless `status == .running`.
final class Request {
    let requestID: String
    let numPromptTokens: Int
    let samplingParams: SamplingParams
    let priority: Int
    let arrivalTime: Double
    /// Submission order within the loop; breaks ties of `arrivalTime`.
    let sequenceNumber: Int
    /// Token count at which the request stops with `.length` (prompt + maxTokens, capped by maxModelLen).
    let maxNumTokens: Int
    var status: RequestStatus = .waiting
    /// Prompt followed by generated tokens.
    private(set) var allTokenIDs: [Int]
    /// Tokens whose KV is in the cache (after the current step's scheduling, the tokens being computed too).
    var numComputedTokens = 0
    /// Prefix-cache hits at first schedule; nil before.
    var numCachedTokens: Int?
    /// Hashes of the full blocks of `allTokenIDs` computed so far (extended lazily).
    private(set) var blockHashes: [BlockHash] = []
    var text: OutputTextProcessor
    var timings: RequestTimings
    /// Speculative decoding: how many drafts the request gets next (set by the scheduler when enabled).
    var drafts: DraftAllowance?

    init(_ request: EngineRequest, sequenceNumber: Int, maxModelLen: Int, text: OutputTextProcessor) {
        requestID = request.requestID
        numPromptTokens = request.promptTokenIDs.count
        samplingParams = request.samplingParams
        priority = request.priority
        arrivalTime = request.arrivalTime
        self.sequenceNumber = sequenceNumber
        maxNumTokens = min(maxModelLen, request.promptTokenIDs.count + request.samplingParams.maxTokens)
        allTokenIDs = request.promptTokenIDs
        self.text = text
        timings = RequestTimings(arrivalTime: request.arrivalTime)
    }

    var numTokens: Int { allTokenIDs.count }
    var numOutputTokens: Int { allTokenIDs.count - numPromptTokens }
    var promptTokenIDs: [Int] { Array(allTokenIDs[..<numPromptTokens]) }

    func appendOutputToken(_ tokenID: Int) { allTokenIDs.append(tokenID) }

    /// Hashes of all full blocks of the current tokens.
    func updateBlockHashes(blockSize: Int) -> [BlockHash] {
        if blockHashes.count < numTokens / blockSize {
            blockHashes = BlockHash.extend(blockHashes, tokenIDs: allTokenIDs, blockSize: blockSize)
        }
        return blockHashes
    }
}
