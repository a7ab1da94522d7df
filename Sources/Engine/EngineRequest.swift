import Dispatch
import Sampling

/// One generation request as submitted to the engine: a tokenized prompt and how to sample and stop.
///
/// The API submits `n` independent requests for `n` choices (same prompt, distinct ids) through
/// `EngineClient.generate(_:)` with an array, so they land on one loop and share prompt blocks through
/// prefix caching. Sendable value; the engine never mutates it.
public struct EngineRequest: Sendable {
    /// Unique among the engine's active requests.
    public var requestID: String
    /// The prompt's token ids (non-empty; at most `maxModelLen - 1`).
    public var promptTokenIDs: [Int]
    /// Sampling and token-level stop parameters (`maxTokens`, `minTokens`, `stopTokenIDs`, `ignoreEOS`...).
    public var samplingParams: SamplingParams
    /// Stop strings, matched on the detokenized output; the output ends before the first match.
    public var stop: [String]
    /// Keep the matched stop string at the end of the output text. Default false.
    public var includeStopStrInOutput: Bool
    /// Leave special tokens out of the output text. Default true.
    public var skipSpecialTokens: Bool
    /// Scheduling priority under `.priority`: lower values first. Default 0.
    public var priority: Int
    /// When the request reached the server, in `EngineClock` seconds. Default: now.
    public var arrivalTime: Double

    public init(
        requestID: String, promptTokenIDs: [Int], samplingParams: SamplingParams = SamplingParams(),
        stop: [String] = [], includeStopStrInOutput: Bool = false, skipSpecialTokens: Bool = true,
        priority: Int = 0, arrivalTime: Double? = nil
    ) {
        self.requestID = requestID
        self.promptTokenIDs = promptTokenIDs
        self.samplingParams = samplingParams
        self.stop = stop
        self.includeStopStrInOutput = includeStopStrInOutput
        self.skipSpecialTokens = skipSpecialTokens
        self.priority = priority
        self.arrivalTime = arrivalTime ?? EngineClock.now()
    }

    /// Checks what does not depend on engine state; throws naming the problem.
    public func validate(maxModelLen: Int) throws(EngineError) {
        if promptTokenIDs.isEmpty { throw .emptyPrompt(requestID: requestID) }
        if promptTokenIDs.count + 1 > maxModelLen {
            throw .promptTooLong(numTokens: promptTokenIDs.count, maxModelLen: maxModelLen)
        }
        if samplingParams.maxTokens < 1 {
            throw .invalidRequest(requestID: requestID, reason: "maxTokens must be >= 1")
        }
        if samplingParams.minTokens < 0 {
            throw .invalidRequest(requestID: requestID, reason: "minTokens must be >= 0")
        }
    }
}

/// The monotonic clock of request timestamps: seconds since an arbitrary origin (boot), never going back.
public enum EngineClock {
    /// Now, in seconds.
    public static func now() -> Double {
        Double(DispatchTime.now().uptimeNanoseconds) / 1e9
    }
}
