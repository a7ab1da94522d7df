import Engine
import Sampling
import Tokenizers

/// The sampling and stopping parameters shared by `/v1/completions` and `/v1/chat/completions`, decoded
/// and range-checked: the step between a request body and the `EngineRequest`s it submits.
///
/// Invariant after `init(body:kind:vocabSize:)`: every value is within its documented range, so the engine
/// never refuses a request for a parameter.
struct GenerationParameters: Sendable {
    enum Kind: Sendable {
        case completion
        case chat
    }

    var sampling = SamplingParams()
    /// `max_tokens` / `max_completion_tokens` when given; nil means the endpoint's default.
    var maxTokens: Int?
    var n = 1
    var stream = false
    var includeUsage = false
    var stop: [String] = []
    var includeStopStrInOutput = false
    var skipSpecialTokens = true
    var priority = 0
    /// Top alternatives per token; nil when no logprobs were asked for.
    var numTopLogprobs: Int?
    var echo = false
    /// `chat_template_kwargs.enable_thinking` (default true).
    var enableThinking = true

    init(body: RequestBody, kind: Kind, vocabSize: Int) throws(APIError) {
        try decodeLimits(body, kind: kind)
        try decodeSampling(body, vocabSize: vocabSize)
        try decodeStops(body, vocabSize: vocabSize)
        try decodeOutputOptions(body, kind: kind)
        try Self.rejectUnsupported(body, kind: kind, n: n)
    }

    /// Refuses the OpenAI parameters whose meaning this server cannot honour, rather than answering as if
    /// they had not been sent (as vLLM refuses them): insertion (`suffix`), server-side `best_of`
    /// candidates, JSON output modes, and tool calls. Their neutral values (`best_of` = `n`,
    /// `response_format` `text`, `tool_choice` `none`) are accepted.
    private static func rejectUnsupported(_ body: RequestBody, kind: Kind, n: Int) throws(APIError) {
        if kind == .completion {
            if let suffix = try body.string("suffix"), !suffix.isEmpty {
                throw .invalidParameter(param: "suffix", "suffix (insertion) is not supported")
            }
            if let bestOf = try body.int("best_of"), bestOf != n {
                throw .invalidParameter(param: "best_of", "best_of is not supported; use n for several choices")
            }
        }
        if let format = try body.object("response_format") {
            let type = try format.string("type")
            guard type == nil || type == "text" else {
                throw .invalidParameter(
                    param: "response_format", "response_format '\(type ?? "")' is not supported (only 'text')")
            }
        }
        guard kind == .chat else { return }
        let choice = body.value("tool_choice")
        let choosesNone = (choice as? String) == "none"
        let tools = try body.array("tools") ?? [], functions = try body.array("functions") ?? []
        let hasTools = !tools.isEmpty || !functions.isEmpty
        if (hasTools || choice != nil) && !choosesNone {
            throw .invalidParameter(
                param: hasTools ? "tools" : "tool_choice",
                "tool calling is not supported; send tool_choice: \"none\" to have the tools ignored")
        }
    }

    private mutating func decodeLimits(_ body: RequestBody, kind: Kind) throws(APIError) {
        let limit = 1...Int(Int32.max)
        if kind == .chat, let value = try body.int("max_completion_tokens", in: limit) { maxTokens = value }
        if let value = try body.int("max_tokens", in: limit) { maxTokens = value }
        n = try body.int("n", in: 1...128) ?? 1
        if let minTokens = try body.int("min_tokens", in: 0...Int(Int32.max)) {
            if let maxTokens, minTokens > maxTokens {
                throw .invalidParameter(param: "min_tokens", "must not exceed max_tokens")
            }
            sampling.minTokens = minTokens
        }
        priority = try body.int("priority") ?? 0
        stream = try body.bool("stream") ?? false
        if let options = try body.object("stream_options") {
            guard stream else { throw .invalidParameter(param: "stream_options", "only allowed with stream: true") }
            includeUsage = try Self.nestedBool(options, "include_usage", in: "stream_options") ?? false
        }
    }

    private mutating func decodeSampling(_ body: RequestBody, vocabSize: Int) throws(APIError) {
        if let value = try body.double("temperature", in: 0...2) { sampling.temperature = Float(value) }
        if let value = try body.double("top_p", in: 0...1) {
            guard value > 0 else { throw .invalidParameter(param: "top_p", "must be in (0, 1]") }
            sampling.topP = Float(value)
        }
        if let value = try body.int("top_k", in: -1...Int(Int32.max)) { sampling.topK = value }
        if let value = try body.double("min_p", in: 0...1) { sampling.minP = Float(value) }
        if let value = try body.double("repetition_penalty", in: 0...1e6) {
            guard value > 0 else { throw .invalidParameter(param: "repetition_penalty", "must be > 0") }
            sampling.repetitionPenalty = Float(value)
        }
        if let value = try body.double("presence_penalty", in: -2...2) { sampling.presencePenalty = Float(value) }
        if let value = try body.double("frequency_penalty", in: -2...2) { sampling.frequencyPenalty = Float(value) }
        if let value = try body.int("seed") { sampling.seed = UInt64(bitPattern: Int64(value)) }
        if let bias = try body.object("logit_bias") {
            for (key, raw) in bias.fields {
                guard let id = Int(key), (0..<vocabSize).contains(id) else {
                    throw .invalidParameter(param: "logit_bias", "key '\(key)' is not a token id below \(vocabSize)")
                }
                guard let value = RequestBody.asDouble(raw), (-100...100).contains(value) else {
                    throw .invalidParameter(param: "logit_bias", "bias of token \(key) must be a number in [-100, 100]")
                }
                sampling.logitBias[id] = Float(value)
            }
        }
        sampling.ignoreEOS = try body.bool("ignore_eos") ?? false
    }

    private mutating func decodeStops(_ body: RequestBody, vocabSize: Int) throws(APIError) {
        if let value = body.value("stop") {
            if let text = value as? String {
                stop = [text]
            } else if let items = value as? [Any], let texts = items as? [String] {
                stop = texts
            } else {
                throw .invalidParameter(param: "stop", "expected a string or a list of strings")
            }
            if stop.contains(where: \.isEmpty) {
                throw .invalidParameter(param: "stop", "stop strings must not be empty")
            }
        }
        if let items = try body.array("stop_token_ids") {
            for item in items {
                guard let id = RequestBody.asInt(item), (0..<vocabSize).contains(id) else {
                    throw .invalidParameter(param: "stop_token_ids", "expected token ids below \(vocabSize)")
                }
                sampling.stopTokenIDs.append(id)
            }
        }
        includeStopStrInOutput = try body.bool("include_stop_str_in_output") ?? false
        skipSpecialTokens = try body.bool("skip_special_tokens") ?? true
    }

    private mutating func decodeOutputOptions(_ body: RequestBody, kind: Kind) throws(APIError) {
        switch kind {
        case .completion:
            numTopLogprobs = try body.int("logprobs", in: 0...20)
            echo = try body.bool("echo") ?? false
        case .chat:
            let wantsLogprobs = try body.bool("logprobs") ?? false
            let top = try body.int("top_logprobs", in: 0...20)
            if top != nil && !wantsLogprobs {
                throw .invalidParameter(param: "top_logprobs", "requires logprobs: true")
            }
            numTopLogprobs = wantsLogprobs ? (top ?? 0) : nil
            if let kwargs = try body.object("chat_template_kwargs") {
                enableThinking = try Self.nestedBool(kwargs, "enable_thinking", in: "chat_template_kwargs") ?? true
            }
        }
        sampling.logprobs = numTopLogprobs
        _ = try body.string("user")
    }

    /// Reads a nested boolean, naming `outer.key` in a type error.
    private static func nestedBool(_ body: RequestBody, _ key: String, in outer: String) throws(APIError) -> Bool? {
        guard let value = body.value(key) else { return nil }
        guard let flag = RequestBody.asBool(value) else {
            throw .invalidParameter(param: "\(outer).\(key)", "expected a boolean")
        }
        return flag
    }

    /// The engine requests of one prompt's `n` choices: the same prompt, distinct ids, and seeds
    /// `seed + i` when a seed was given (so choices differ but the whole call is reproducible).
    func engineRequests(idPrefix: String, promptTokenIDs: [Int], maxTokens: Int, extraStopTokenIDs: [Int] = [])
        -> [EngineRequest]
    {
        let arrival = EngineClock.now()
        return (0..<n).map { index in
            var params = sampling
            params.maxTokens = maxTokens
            params.stopTokenIDs += extraStopTokenIDs.filter { !params.stopTokenIDs.contains($0) }
            if let seed = sampling.seed { params.seed = seed &+ UInt64(index) }
            return EngineRequest(
                requestID: "\(idPrefix)-\(index)", promptTokenIDs: promptTokenIDs, samplingParams: params, stop: stop,
                includeStopStrInOutput: includeStopStrInOutput, skipSpecialTokens: skipSpecialTokens,
                priority: priority, arrivalTime: arrival)
        }
    }
}
