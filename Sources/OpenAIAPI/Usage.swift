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
