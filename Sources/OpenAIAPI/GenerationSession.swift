import Engine
import HTTPServer

/// The engine side of one API call: its submitted requests (one per choice) and their outputs merged into
/// one stream of `(choice index, output)` in arrival order, so tokens can be written as soon as they exist.
///
/// A client that disconnects (the writer's `onClose`), at any point after submission, aborts every request
/// of the call, so the engine frees their KV blocks at its next step; `abortAll()` does the same for handler
/// errors. Aborting a finished request is a no-op.
struct GenerationSession: Sendable {
    let engine: EngineClient
    let requestIDs: [String]
    let outputs: AsyncStream<(index: Int, output: RequestOutput)>

    /// Submits `requests` together (one loop, shared prompt blocks) and ties their lifetime to `writer`.
    static func start(engine: EngineClient, requests: [EngineRequest], writer: ResponseWriter) throws(APIError)
        -> GenerationSession
    {
        let streams: [AsyncStream<RequestOutput>]
        do {
            streams = try engine.generate(requests)
        } catch {
            throw APIError.from(error)
        }
        let ids = requests.map(\.requestID)
        writer.onClose {
            for id in ids { engine.abort(id) }
        }
        return GenerationSession(engine: engine, requestIDs: ids, outputs: merge(streams))
    }

    /// Aborts every request of the call (finished ones are ignored by the engine).
    func abortAll() {
        for id in requestIDs { engine.abort(id) }
    }

    private static func merge(_ streams: [AsyncStream<RequestOutput>]) -> AsyncStream<
        (index: Int, output: RequestOutput)
    > {
        let (merged, continuation) = AsyncStream.makeStream(of: (index: Int, output: RequestOutput).self)
        let task = Task {
            await withTaskGroup(of: Void.self) { group in
                for (index, stream) in streams.enumerated() {
                    group.addTask {
                        for await output in stream { continuation.yield((index, output)) }
                    }
                }
            }
            continuation.finish()
        }
        continuation.onTermination = { _ in task.cancel() }
        return merged
    }
}

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

/// Token counts of one API call for its `usage` object.
struct Usage: Sendable {
    var numPromptTokens = 0
    var numCompletionTokens = 0
    var numCachedTokens = 0

    /// Counts each prompt once (from its first choice) and every choice's output tokens.
    init(choices: [ChoiceState], n: Int) {
        for (index, choice) in choices.enumerated() {
            if index % n == 0 {
                numPromptTokens += choice.numPromptTokens
                numCachedTokens += choice.numCachedTokens
            }
            numCompletionTokens += choice.numOutputTokens
        }
    }

    var json: JSONValue {
        .object([
            ("prompt_tokens", .int(numPromptTokens)), ("total_tokens", .int(numPromptTokens + numCompletionTokens)),
            ("completion_tokens", .int(numCompletionTokens)),
            ("prompt_tokens_details", .object([("cached_tokens", .int(numCachedTokens))])),
        ])
    }
}
