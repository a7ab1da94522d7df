/// Errors of the `Engine` module: why a request was refused at submission or a configuration rejected.
///
/// Every case carries the context the API needs for its error body. `queueFull` is the only case that means
/// "try again later" (HTTP 429); the others describe bad input (HTTP 400) or an engine that no longer serves (503).
public enum EngineError: Error, Equatable, Sendable {
    /// The bounded waiting queue is full (request count or total waiting prompt tokens): back off and retry.
    case queueFull(numWaitingRequests: Int, numWaitingTokens: Int)
    /// The prompt leaves no room for one generated token: `numTokens + 1 > maxModelLen`.
    case promptTooLong(numTokens: Int, maxModelLen: Int)
    /// A request without prompt tokens (there would be nothing to sample from).
    case emptyPrompt(requestID: String)
    /// A request id already active in this engine.
    case duplicateRequestID(String)
    /// A request whose fields are inconsistent (e.g. `maxTokens < 1`); `reason` names the field.
    case invalidRequest(requestID: String, reason: String)
    /// An `EngineConfig` value outside its documented range; `reason` names the field.
    case invalidConfig(String)
    /// The engine is draining or stopped and accepts no new requests.
    case shuttingDown
    /// A `SchedulerOutput` that contradicts the worker's per-request state (an engine or worker bug).
    case inconsistentSchedulerOutput(requestID: String, reason: String)
}
