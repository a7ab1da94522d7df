import Engine
import HTTP1
import HTTPServer

/// One `/v1/completions` call after submission: consumes the merged outputs and writes either the whole
/// `text_completion` object or its chunks as they arrive.
struct CompletionRun: GenerationRun {
    let context: APIContext
    let params: GenerationParameters
    let prompts: [CompletionsEndpoint.Prompt]
    let responseID: String
    let created: Int
    let numChoices: Int

    private var formatter: LogprobsFormatter { LogprobsFormatter(tokenizer: context.tokenizer) }

    private func echoText(_ choiceIndex: Int) -> String {
        params.echo ? prompts[choiceIndex / params.n].text : ""
    }

    /// Collects every choice, then answers with one JSON object.
    func respond(_ session: GenerationSession, writer: ResponseWriter) async throws {
        let choices = try await collectChoices(session, count: numChoices)
        let items: [JSONValue] = choices.enumerated().map { index, choice in
            var offset = echoText(index).unicodeScalars.count
            let logprobs =
                params.numTopLogprobs == nil
                ? JSONValue.null
                : formatter.completionLogprobs(choice.logprobs, textOffset: &offset)
            return .object([
                ("index", .int(index)), ("text", .string(echoText(index) + choice.text)), ("logprobs", logprobs),
                ("finish_reason", ChoiceState.finishReasonJSON(choice.finishReason)),
                ("stop_reason", ChoiceState.stopReasonJSON(choice.stopReason)),
            ])
        }
        let response = JSONValue.object(
            envelope(object: "text_completion") + [
                ("choices", .array(items)), ("usage", Usage(choices: choices, n: params.n).json),
            ])
        try await writer.send(.json(response.bytes))
    }

    /// Streams one chunk per output and choice, the optional usage chunk, then `[DONE]`.
    func stream(_ session: GenerationSession, writer: ResponseWriter) async throws {
        let events = EventStreamWriter(writer: writer)
        var choices = [ChoiceState](repeating: ChoiceState(), count: numChoices)
        var offsets = (0..<numChoices).map { echoText($0).unicodeScalars.count }
        var echoed = [Bool](repeating: !params.echo, count: numChoices)
        do {
            try events.start()
            for await (index, output) in session.outputs {
                record(output, into: &choices[index])
                if output.finishReason == .error {
                    try await failStream(output, session: session, events: events)
                    return
                }
                var text = output.newText
                if !echoed[index] {
                    text = echoText(index) + text
                    echoed[index] = true
                }
                let hasLogprobs = params.numTopLogprobs != nil && !(output.newLogprobs ?? []).isEmpty
                guard !text.isEmpty || hasLogprobs || output.isFinished else { continue }
                let logprobs =
                    params.numTopLogprobs == nil
                    ? JSONValue.null
                    : formatter.completionLogprobs(output.newLogprobs ?? [], textOffset: &offsets[index])
                try await events.send(chunk(index: index, text: text, logprobs: logprobs, output: output))
            }
            if params.includeUsage { try await events.send(usageChunk(object: "text_completion", choices: choices)) }
            try await events.done()
        } catch {
            session.abortAll()
            throw error
        }
    }

    private func chunk(index: Int, text: String, logprobs: JSONValue, output: RequestOutput) -> JSONValue {
        var fields = envelope(object: "text_completion")
        fields += [
            (
                "choices",
                .array([
                    .object([
                        ("index", .int(index)), ("text", .string(text)), ("logprobs", logprobs),
                        ("finish_reason", ChoiceState.finishReasonJSON(output.finishReason)),
                        ("stop_reason", ChoiceState.stopReasonJSON(output.stopReason)),
                    ])
                ])
            )
        ]
        if params.includeUsage { fields.append(("usage", .null)) }
        return .object(fields)
    }

}
