import Engine
import HTTP1
import HTTPServer

/// One `/v1/completions` call after submission: consumes the merged outputs and writes either the whole
/// `text_completion` object or its chunks as they arrive.
struct CompletionRun: Sendable {
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
        var choices = [ChoiceState](repeating: ChoiceState(), count: numChoices)
        let metrics = context.apiMetrics
        for await (index, output) in session.outputs {
            metrics?.observeOutput(output, previousTimestamp: choices[index].lastTimestamp)
            choices[index].apply(output)
            if output.isFinished { metrics?.observeFinished(output) }
        }
        if let failed = choices.first(where: { $0.finishReason == .error || !$0.isFinished }) {
            let message = failed.errorMessage ?? "generation ended without a result"
            context.logger.warning("generation failed", ["id": responseID, "error": message])
            throw APIError.generationFailed(message)
        }
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
        let response = JSONValue.object([
            ("id", .string(responseID)), ("object", .string("text_completion")), ("created", .int(created)),
            ("model", .string(context.servedModelName)), ("choices", .array(items)),
            ("usage", Usage(choices: choices, n: params.n).json),
        ])
        try await writer.send(.json(response.bytes))
    }

    /// Streams one chunk per output and choice, the optional usage chunk, then `[DONE]`.
    func stream(_ session: GenerationSession, writer: ResponseWriter) async throws {
        let events = EventStreamWriter(writer: writer)
        var choices = [ChoiceState](repeating: ChoiceState(), count: numChoices)
        var offsets = (0..<numChoices).map { echoText($0).unicodeScalars.count }
        var echoed = [Bool](repeating: !params.echo, count: numChoices)
        let metrics = context.apiMetrics
        do {
            try events.start()
            for await (index, output) in session.outputs {
                metrics?.observeOutput(output, previousTimestamp: choices[index].lastTimestamp)
                choices[index].apply(output)
                if output.isFinished { metrics?.observeFinished(output) }
                if output.finishReason == .error {
                    session.abortAll()
                    let message = output.errorMessage ?? "generation failed"
                    context.logger.warning("generation failed", ["id": responseID, "error": message])
                    try await events.fail(.generationFailed(message))
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
            if params.includeUsage { try await events.send(usageChunk(choices)) }
            try await events.done()
        } catch {
            session.abortAll()
            throw error
        }
    }

    private func chunk(index: Int, text: String, logprobs: JSONValue, output: RequestOutput) -> JSONValue {
        var fields: [(String, JSONValue)] = [
            ("id", .string(responseID)), ("object", .string("text_completion")), ("created", .int(created)),
            ("model", .string(context.servedModelName)),
            (
                "choices",
                .array([
                    .object([
                        ("index", .int(index)), ("text", .string(text)), ("logprobs", logprobs),
                        ("finish_reason", ChoiceState.finishReasonJSON(output.finishReason)),
                        ("stop_reason", ChoiceState.stopReasonJSON(output.stopReason)),
                    ])
                ])
            ),
        ]
        if params.includeUsage { fields.append(("usage", .null)) }
        return .object(fields)
    }

    private func usageChunk(_ choices: [ChoiceState]) -> JSONValue {
        .object([
            ("id", .string(responseID)), ("object", .string("text_completion")), ("created", .int(created)),
            ("model", .string(context.servedModelName)), ("choices", .array([])),
            ("usage", Usage(choices: choices, n: params.n).json),
        ])
    }
}
