import Engine

/// What one choice has produced so far.
struct ChoiceState: Sendable {
    var text = ""
    var tokenIDs: [Int] = []
    var logprobs: [SampleLogprob] = []
    var finishReason: FinishReason?
    var stopReason: StopReason?
    var errorMessage: String?
    var numPromptTokens = 0
    var numCachedTokens = 0
    var numOutputTokens = 0
    var lastTimestamp: Double?

    mutating func apply(_ output: RequestOutput) {
        text += output.newText
        tokenIDs += output.newTokenIDs
        if let newLogprobs = output.newLogprobs { logprobs += newLogprobs }
        finishReason = output.finishReason ?? finishReason
        stopReason = output.stopReason ?? stopReason
        errorMessage = output.errorMessage ?? errorMessage
        numPromptTokens = output.numPromptTokens
        numCachedTokens = max(numCachedTokens, output.numCachedTokens)
        numOutputTokens = output.numOutputTokens
        lastTimestamp = output.timestamp
    }

    var isFinished: Bool { finishReason != nil }

    /// The OpenAI `finish_reason` value.
    static func finishReasonJSON(_ reason: FinishReason?) -> JSONValue {
        reason.map { .string($0.rawValue) } ?? .null
    }

    /// vLLM's `stop_reason`: the stop string, the stop token id, or null (EOS, length).
    static func stopReasonJSON(_ reason: StopReason?) -> JSONValue {
        switch reason {
        case .stopString(let text): .string(text)
        case .stopTokenID(let id): .int(id)
        case .eos, nil: .null
        }
    }
}
