import Engine
import Sampling

/// Builds an engine core over a fresh `FakeWorker`.
func makeCore(_ config: EngineConfig, tokenizer: FakeTokenizer = FakeTokenizer()) throws -> (EngineCore, FakeWorker) {
    let worker = FakeWorker(numBlocks: config.numBlocks, blockSize: config.blockSize)
    let core = try EngineCore(config: config, worker: worker, tokenizer: tokenizer, clock: { 0 })
    return (core, worker)
}

func makeConfig(
    numBlocks: Int = 64, blockSize: Int = 4, maxNumBatchedTokens: Int = 64, maxNumSeqs: Int = 8,
    maxModelLen: Int = 256
) -> EngineConfig {
    var config = EngineConfig(numBlocks: numBlocks)
    config.blockSize = blockSize
    config.maxNumBatchedTokens = maxNumBatchedTokens
    config.maxNumSeqs = maxNumSeqs
    config.maxModelLen = maxModelLen
    return config
}

func params(maxTokens: Int, minTokens: Int = 0, ignoreEOS: Bool = false, stopTokenIDs: [Int] = []) -> SamplingParams {
    var params = SamplingParams()
    params.maxTokens = maxTokens
    params.minTokens = minTokens
    params.ignoreEOS = ignoreEOS
    params.stopTokenIDs = stopTokenIDs
    return params
}

/// A request's outputs joined.
struct Completion: Equatable {
    var tokenIDs: [Int] = []
    var text = ""
    var deltas: [String] = []
    var finishReason: FinishReason?
    var stopReason: StopReason?
    var numCachedTokens = 0
    var numOutputs = 0
}

func collect(_ outputs: [RequestOutput]) -> [String: Completion] {
    var completions: [String: Completion] = [:]
    for output in outputs {
        var completion = completions[output.requestID, default: Completion()]
        completion.tokenIDs += output.newTokenIDs
        completion.text += output.newText
        completion.deltas.append(output.newText)
        completion.finishReason = output.finishReason
        completion.stopReason = output.stopReason
        completion.numCachedTokens = output.numCachedTokens
        completion.numOutputs += 1
        completions[output.requestID] = completion
    }
    return completions
}

/// A deterministic pseudo-random generator for randomised tests (SplitMix64).
struct TestRNG: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
