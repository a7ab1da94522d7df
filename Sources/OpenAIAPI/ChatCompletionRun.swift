import Engine
import HTTP1
import HTTPServer

/// One `/v1/chat/completions` call after submission: consumes the merged outputs and writes the
/// `chat.completion` object or its `chat.completion.chunk` stream (assistant role delta first).
struct ChatCompletionRun: GenerationRun {
    let context: APIContext
    let params: GenerationParameters
    let responseID: String
    let created: Int

    private var formatter: LogprobsFormatter { LogprobsFormatter(tokenizer: context.tokenizer) }
    private var splitsReasoning: Bool { context.chatTemplate.supportsReasoning }
    /// The EOS text, which appears in the output when special tokens are kept for reasoning parsing.
    private var droppedPieces: [String] {
        context.tokenizer.eosTokenID.map { [context.tokenizer.decode([$0], skipSpecialTokens: false)] } ?? []
    }

    private func logprobsJSON(_ logprobs: [SampleLogprob]) -> JSONValue {
        guard let numTop = params.numTopLogprobs else { return .null }
        return formatter.chatLogprobs(logprobs, numTop: numTop)
    }

    /// Collects every choice, then answers with one JSON object.
    func respond(_ session: GenerationSession, writer: ResponseWriter) async throws {
        let choices = try await collectChoices(session, count: params.n)
        let items: [JSONValue] = choices.enumerated().map { index, choice in
            var message: [(String, JSONValue)] = [("role", .string("assistant"))]
            if splitsReasoning {
                let (reasoning, content) = ReasoningParser.split(choice.text, droppedPieces: droppedPieces)
                message.append(("content", .string(content)))
                message.append(("reasoning_content", .string(reasoning)))
            } else {
                message.append(("content", .string(choice.text)))
            }
            return .object([
                ("index", .int(index)), ("message", .object(message)), ("logprobs", logprobsJSON(choice.logprobs)),
                ("finish_reason", ChoiceState.finishReasonJSON(choice.finishReason)),
                ("stop_reason", ChoiceState.stopReasonJSON(choice.stopReason)),
            ])
        }
        let response = JSONValue.object(
            envelope(object: "chat.completion") + [
                ("choices", .array(items)), ("usage", Usage(choices: choices, n: params.n).json),
            ])
        try await writer.send(.json(response.bytes))
    }

    /// Streams the role delta per choice, one chunk per output, the optional usage chunk, then `[DONE]`.
    func stream(_ session: GenerationSession, writer: ResponseWriter) async throws {
        let events = EventStreamWriter(writer: writer)
        var choices = [ChoiceState](repeating: ChoiceState(), count: params.n)
        var parsers = [ReasoningParser](repeating: ReasoningParser(droppedPieces: droppedPieces), count: params.n)
        do {
            try events.start()
            for index in 0..<params.n {
                let delta = JSONValue.object([("role", .string("assistant")), ("content", .string(""))])
                try await events.send(chunk(index: index, delta: delta, logprobs: .null, output: nil))
            }
            for await (index, output) in session.outputs {
                record(output, into: &choices[index])
                if output.finishReason == .error {
                    try await failStream(output, session: session, events: events)
                    return
                }
                let delta = deltaFields(output, parser: &parsers[index])
                let hasLogprobs = params.numTopLogprobs != nil && !(output.newLogprobs ?? []).isEmpty
                guard !delta.isEmpty || hasLogprobs || output.isFinished else { continue }
                let logprobs = logprobsJSON(output.newLogprobs ?? [])
                try await events.send(chunk(index: index, delta: .object(delta), logprobs: logprobs, output: output))
            }
            if params.includeUsage {
                try await events.send(usageChunk(object: "chat.completion.chunk", choices: choices))
            }
            try await events.done()
        } catch {
            session.abortAll()
            throw error
        }
    }

    /// The delta of one output: `content` (and `reasoning_content` for thinking templates).
    private func deltaFields(_ output: RequestOutput, parser: inout ReasoningParser) -> [(String, JSONValue)] {
        guard splitsReasoning else { return output.newText.isEmpty ? [] : [("content", .string(output.newText))] }
        var (reasoning, content) = parser.feed(output.newText)
        if output.isFinished {
            let rest = parser.flush()
            reasoning += rest.reasoning
            content += rest.content
        }
        var fields: [(String, JSONValue)] = []
        if !reasoning.isEmpty { fields.append(("reasoning_content", .string(reasoning))) }
        if !content.isEmpty { fields.append(("content", .string(content))) }
        return fields
    }

    private func chunk(index: Int, delta: JSONValue, logprobs: JSONValue, output: RequestOutput?) -> JSONValue {
        var fields = envelope(object: "chat.completion.chunk")
        fields += [
            (
                "choices",
                .array([
                    .object([
                        ("index", .int(index)), ("delta", delta), ("logprobs", logprobs),
                        ("finish_reason", ChoiceState.finishReasonJSON(output?.finishReason)),
                        ("stop_reason", ChoiceState.stopReasonJSON(output?.stopReason)),
                    ])
                ])
            )
        ]
        if params.includeUsage { fields.append(("usage", .null)) }
        return .object(fields)
    }

}
