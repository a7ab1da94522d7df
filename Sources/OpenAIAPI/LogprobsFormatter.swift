import Engine
import Tokenizers

/// Turns the engine's per-token log-probabilities into the two OpenAI shapes: the completions `logprobs`
/// object (`tokens`, `token_logprobs`, `top_logprobs`, `text_offset`) and the chat `logprobs.content` list.
///
/// Token texts are the decoded text of each id alone, with SentencePiece's `▁` word marker shown as the
/// space it stands for. Infinite log-probabilities are clamped by `JSONValue`.
struct LogprobsFormatter: Sendable {
    let tokenizer: any Tokenizer

    /// The text of one token as clients see it.
    func tokenText(_ id: Int) -> String {
        let text = tokenizer.decode([id], skipSpecialTokens: false)
        if let piece = tokenizer.piece(for: id), piece.hasPrefix("▁"), !text.hasPrefix(" ") { return " " + text }
        return text
    }

    /// The completions `logprobs` object of `logprobs`; `textOffset` is the running offset (in Unicode
    /// scalars) of the first token within the choice's text, advanced past these tokens.
    func completionLogprobs(_ logprobs: [SampleLogprob], textOffset: inout Int) -> JSONValue {
        var tokens: [JSONValue] = []
        var tokenLogprobs: [JSONValue] = []
        var tops: [JSONValue] = []
        var offsets: [JSONValue] = []
        for entry in logprobs {
            let text = tokenText(entry.tokenID)
            tokens.append(.string(text))
            tokenLogprobs.append(.logprob(entry.logprob))
            var seen: Set<String> = []
            var top: [(String, JSONValue)] = []
            for alternative in entry.topLogprobs {
                let altText = tokenText(alternative.tokenID)
                if seen.insert(altText).inserted { top.append((altText, .logprob(alternative.logprob))) }
            }
            tops.append(.object(top))
            offsets.append(.int(textOffset))
            textOffset += text.unicodeScalars.count
        }
        return .object([
            ("tokens", .array(tokens)), ("token_logprobs", .array(tokenLogprobs)), ("top_logprobs", .array(tops)),
            ("text_offset", .array(offsets)),
        ])
    }

    /// The chat `logprobs` object: `{"content": [{token, logprob, bytes, top_logprobs}]}`.
    func chatLogprobs(_ logprobs: [SampleLogprob], numTop: Int) -> JSONValue {
        let content: [JSONValue] = logprobs.map { entry in
            let text = tokenText(entry.tokenID)
            let top: [JSONValue] = entry.topLogprobs.prefix(numTop).map { alternative in
                let altText = tokenText(alternative.tokenID)
                return .object([
                    ("token", .string(altText)), ("logprob", .logprob(alternative.logprob)),
                    ("bytes", .utf8Bytes(altText)),
                ])
            }
            return .object([
                ("token", .string(text)), ("logprob", .logprob(entry.logprob)), ("bytes", .utf8Bytes(text)),
                ("top_logprobs", .array(top)),
            ])
        }
        return .object([("content", .array(content))])
    }
}
