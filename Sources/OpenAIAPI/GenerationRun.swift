import Engine

/// What `/v1/completions` and `/v1/chat/completions` runs share once their requests are
/// submitted: the response envelope, collecting choices, metrics per output, and the
/// stream's failure and usage events. Each run adds its own choice format.
protocol GenerationRun: Sendable {
    var context: APIContext { get }
    var params: GenerationParameters { get }
    var responseID: String { get }
    var created: Int { get }
}

extension GenerationRun {
    /// The fields every response object and chunk starts with.
    func envelope(object: String) -> [(String, JSONValue)] {
        [
            ("id", .string(responseID)), ("object", .string(object)), ("created", .int(created)),
            ("model", .string(context.servedModelName)),
        ]
    }

    /// Feeds one engine output to the metrics and to its choice.
    func record(_ output: RequestOutput, into choice: inout ChoiceState) {
        let metrics = context.apiMetrics
        metrics?.observeOutput(output, previousTimestamp: choice.lastTimestamp)
        choice.apply(output)
        if output.isFinished { metrics?.observeFinished(output) }
    }

    /// Every choice of a non-streamed answer; throws when one failed or ended without a result.
    func collectChoices(_ session: GenerationSession, count: Int) async throws -> [ChoiceState] {
        var choices = [ChoiceState](repeating: ChoiceState(), count: count)
        for await (index, output) in session.outputs { record(output, into: &choices[index]) }
        if let failed = choices.first(where: { $0.finishReason == .error || !$0.isFinished }) {
            let message = failed.errorMessage ?? "generation ended without a result"
            // Without a worker error and with the engine running, the call was aborted: its client hung up.
            let aborted = failed.finishReason != .error && context.engine.isAlive
            context.logger.log(
                aborted ? .info : .warning, aborted ? "generation aborted" : "generation failed",
                ["id": responseID, "error": message])
            throw APIError.generationFailed(message)
        }
        return choices
    }

    /// Ends a stream whose generation failed: aborts the other choices and sends the error event.
    func failStream(_ output: RequestOutput, session: GenerationSession, events: EventStreamWriter) async throws {
        session.abortAll()
        let message = output.errorMessage ?? "generation failed"
        context.logger.warning("generation failed", ["id": responseID, "error": message])
        try await events.fail(.generationFailed(message))
    }

    /// The extra chunk of `stream_options.include_usage`: no choices, the usage of all of them.
    func usageChunk(object: String, choices: [ChoiceState]) -> JSONValue {
        .object(
            envelope(object: object) + [
                ("choices", .array([])), ("usage", Usage(choices: choices, n: params.n).json),
            ])
    }
}
