import Engine
import HTTP1
import HTTPServer

/// Errors of the `OpenAIAPI` module: why a request was refused, each mapped by `httpError` to its status and
/// the OpenAI error body `{"error": {"message", "type", "param", "code"}}`.
///
/// This is the single place where engine and validation errors become HTTP statuses.
public enum APIError: Error, Sendable, Equatable {
    /// The body is not a JSON object.
    case invalidJSON(String)
    /// A parameter has the wrong type or is out of range (400); `param` is its OpenAI field name.
    case invalidParameter(param: String, String)
    /// A required parameter is absent (400).
    case missingParameter(String)
    /// `model` names a model this server does not serve (404).
    case modelNotFound(String)
    /// The prompt plus requested tokens exceed the context (400); `param` is `max_tokens` when the prompt
    /// alone fits, else the prompt's field (`prompt` or `messages`).
    case contextLengthExceeded(param: String, numPromptTokens: Int, numRequestedTokens: Int, maxModelLen: Int)
    /// The engine's waiting queue is full (429 with `Retry-After`).
    case queueFull
    /// Loading, draining or engine stopped (503).
    case notReady(String)
    /// The engine failed while generating (500).
    case generationFailed(String)

    /// The HTTP error response for this error.
    public var httpError: HTTPError {
        switch self {
        case .invalidJSON(let reason):
            return HTTPError(status: .badRequest, message: "invalid JSON body: \(reason)", code: "invalid_json")
        case .invalidParameter(let param, let reason):
            return HTTPError(
                status: .badRequest, message: "invalid value for '\(param)': \(reason)", code: "invalid_value",
                param: param)
        case .missingParameter(let param):
            return HTTPError(
                status: .badRequest, message: "missing required parameter '\(param)'",
                code: "missing_required_parameter",
                param: param)
        case .modelNotFound(let model):
            return HTTPError(
                status: .notFound, message: "the model '\(model)' does not exist", code: "model_not_found",
                param: "model")
        case .contextLengthExceeded(let param, let numPrompt, let numRequested, let maxModelLen):
            return HTTPError(
                status: .badRequest,
                message: "this model's maximum context length is \(maxModelLen) tokens, but \(numPrompt) prompt "
                    + "tokens and \(numRequested) completion tokens were requested",
                code: "context_length_exceeded", param: param)
        case .queueFull:
            return HTTPError(
                status: .tooManyRequests, message: "the server's request queue is full; retry later",
                type: "rate_limit_error", code: "queue_full", headers: ["Retry-After": "1"])
        case .notReady(let reason):
            return HTTPError(
                status: .serviceUnavailable, message: reason, type: "service_unavailable_error",
                code: "service_unavailable")
        case .generationFailed(let reason):
            return HTTPError(status: .internalServerError, message: reason, code: "generation_failed")
        }
    }

    /// Maps an engine refusal at submission to the API error.
    static func from(_ error: EngineError) -> APIError {
        switch error {
        case .queueFull: .queueFull
        case .promptTooLong(let numTokens, let maxModelLen):
            .contextLengthExceeded(
                param: "prompt", numPromptTokens: numTokens, numRequestedTokens: 0, maxModelLen: maxModelLen)
        case .emptyPrompt: .invalidParameter(param: "prompt", "the prompt is empty")
        case .invalidRequest(_, let reason): .invalidParameter(param: Self.param(in: reason), reason)
        case .duplicateRequestID(let id): .invalidParameter(param: "request_id", "request id \(id) is already active")
        case .shuttingDown: .notReady("the server is shutting down")
        case .invalidConfig(let reason), .inconsistentSchedulerOutput(_, let reason): .generationFailed(reason)
        }
    }

    private static func param(in reason: String) -> String {
        if reason.hasPrefix("maxTokens") { return "max_tokens" }
        if reason.hasPrefix("minTokens") { return "min_tokens" }
        return "request"
    }
}
