/// One step's news for one request, streamed to its caller: the tokens and text produced since the previous
/// output, and, on the last output, why it finished.
///
/// A stream of outputs concatenates: `newTokenIDs` and `newText` of successive outputs join to the whole
/// completion. The text never contains any part of a stop string that ends the request (unless
/// `includeStopStrInOutput`). The last output has `finishReason != nil`; after it the stream ends.
public struct RequestOutput: Sendable, Equatable {
    public var requestID: String
    /// Token ids generated in this step (usually one; empty on an abort or error output).
    public var newTokenIDs: [Int]
    /// Text completed in this step (may be empty while held back for UTF-8 or a possible stop string).
    public var newText: String
    /// Log-probabilities of `newTokenIDs`, when the request asked for them.
    public var newLogprobs: [SampleLogprob]?
    /// Tokens generated so far, including these.
    public var numOutputTokens: Int
    /// Prompt length.
    public var numPromptTokens: Int
    /// Prompt tokens served from the prefix cache when first scheduled (0 before).
    public var numCachedTokens: Int
    /// Set on the last output.
    public var finishReason: FinishReason?
    /// Which condition ended it, when `finishReason == .stop`.
    public var stopReason: StopReason?
    /// What went wrong, when `finishReason == .error` (or the request was refused after submission).
    public var errorMessage: String?
    /// When these tokens were produced (`EngineClock` seconds); differences give inter-token latencies.
    public var timestamp: Double
    /// The request's lifecycle timestamps so far (complete on the last output).
    public var timings: RequestTimings

    public init(
        requestID: String, newTokenIDs: [Int], newText: String, newLogprobs: [SampleLogprob]? = nil,
        numOutputTokens: Int, numPromptTokens: Int, numCachedTokens: Int = 0, finishReason: FinishReason? = nil,
        stopReason: StopReason? = nil, errorMessage: String? = nil, timestamp: Double, timings: RequestTimings
    ) {
        self.requestID = requestID
        self.newTokenIDs = newTokenIDs
        self.newText = newText
        self.newLogprobs = newLogprobs
        self.numOutputTokens = numOutputTokens
        self.numPromptTokens = numPromptTokens
        self.numCachedTokens = numCachedTokens
        self.finishReason = finishReason
        self.stopReason = stopReason
        self.errorMessage = errorMessage
        self.timestamp = timestamp
        self.timings = timings
    }

    /// Whether this is the stream's last output.
    public var isFinished: Bool { finishReason != nil }

    /// Mean inter-token latency so far (decode time over the gaps between output tokens); nil before the
    /// second token.
    public var meanTimePerOutputToken: Double? {
        guard numOutputTokens > 1, let decodeTime = timings.decodeTime else { return nil }
        return decodeTime / Double(numOutputTokens - 1)
    }
}

/// Lifecycle timestamps of one request in `EngineClock` seconds, for latency histograms.
public struct RequestTimings: Sendable, Equatable {
    /// When the request reached the server (`EngineRequest.arrivalTime`).
    public var arrivalTime: Double
    /// When it was first scheduled (queue time ends, prefill starts).
    public var firstScheduledTime: Double?
    /// When its first token was produced.
    public var firstTokenTime: Double?
    /// When its latest token was produced.
    public var lastTokenTime: Double?
    /// When it finished.
    public var finishedTime: Double?
    /// Times it was preempted.
    public var numPreemptions: Int = 0

    public init(arrivalTime: Double) {
        self.arrivalTime = arrivalTime
    }

    /// Time spent waiting before the first schedule.
    public var queueTime: Double? { firstScheduledTime.map { $0 - arrivalTime } }
    /// Time to first token, from arrival.
    public var timeToFirstToken: Double? { firstTokenTime.map { $0 - arrivalTime } }
    /// Prefill time: first schedule to first token.
    public var prefillTime: Double? {
        guard let start = firstScheduledTime, let end = firstTokenTime else { return nil }
        return end - start
    }
    /// Decode time: first token to last token.
    public var decodeTime: Double? {
        guard let start = firstTokenTime, let end = lastTokenTime else { return nil }
        return end - start
    }
    /// End-to-end latency: arrival to finish.
    public var e2eLatency: Double? { finishedTime.map { $0 - arrivalTime } }
}
