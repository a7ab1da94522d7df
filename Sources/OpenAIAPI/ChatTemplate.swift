import Tokenizers

/// How chat messages become prompt text for one checkpoint family: the step between decoded `messages`
/// and tokenization.
///
/// Chosen from the vocabulary by `detect(tokenizer:)` (no Jinja is evaluated; each template is a fixed
/// renderer written after the family's published chat format). `render` returns text whose special pieces
/// (`[unused9]`, `<|im_start|>`...) are parsed into single ids by `Tokenizer.encode(parseSpecial:)`.
public enum ChatTemplate: String, Sendable, CaseIterable {
    /// openPangu: `[unused9]角色：content[unused10]` turns, an empty system turn first when absent,
    /// generation prompt `[unused9]助手：`. Thinking text comes between `[unused16]` and `[unused17]`.
    case pangu
    /// Llama 3: `<|start_header_id|>role<|end_header_id|>\n\ncontent<|eot_id|>` after `<|begin_of_text|>`.
    case llama3
    /// ChatML (Qwen and others): `<|im_start|>role\ncontent<|im_end|>\n`.
    case chatML
    /// Fallback for vocabularies without chat pieces: `role: content\n` lines, then `assistant:`.
    case plain

    /// The template matching the tokenizer's vocabulary: Pangu when it has `[unused9]` and `[unused10]`,
    /// Llama 3 when it has `<|start_header_id|>`, ChatML when it has `<|im_start|>`, otherwise plain.
    public static func detect(tokenizer: any Tokenizer) -> ChatTemplate {
        if tokenizer.id(forPiece: "[unused9]") != nil && tokenizer.id(forPiece: "[unused10]") != nil { return .pangu }
        if tokenizer.id(forPiece: "<|start_header_id|>") != nil { return .llama3 }
        if tokenizer.id(forPiece: "<|im_start|>") != nil { return .chatML }
        return .plain
    }

    /// Whether the rendered text starts with its own BOS piece (so the tokenizer must not add another).
    public var rendersBOS: Bool { self == .llama3 }

    /// Pieces that end an assistant turn; their ids become extra stop token ids of chat requests.
    public var endOfTurnPieces: [String] {
        switch self {
        case .pangu: ["[unused10]"]
        case .llama3: ["<|eot_id|>"]
        case .chatML: ["<|im_end|>"]
        case .plain: []
        }
    }

    /// Whether outputs may carry thinking text to split into `reasoning_content`.
    public var supportsReasoning: Bool { self == .pangu }

    /// The prompt text for `messages`, ending with the assistant's generation prompt when
    /// `addGenerationPrompt`. With `enableThinking == false`, Pangu's last user turn gets the ` /no_think`
    /// switch (openPangu's documented way to turn off slow thinking) unless it already ends with it.
    public func render(_ messages: [ChatMessage], addGenerationPrompt: Bool = true, enableThinking: Bool = true)
        -> String
    {
        switch self {
        case .pangu: renderPangu(messages, addGenerationPrompt: addGenerationPrompt, enableThinking: enableThinking)
        case .llama3: renderLlama3(messages, addGenerationPrompt: addGenerationPrompt)
        case .chatML: renderChatML(messages, addGenerationPrompt: addGenerationPrompt)
        case .plain: renderPlain(messages, addGenerationPrompt: addGenerationPrompt)
        }
    }

    /// The suffix that switches openPangu to fast (non-thinking) answers.
    public static let noThinkSwitch = "/no_think"

    private func renderPangu(_ messages: [ChatMessage], addGenerationPrompt: Bool, enableThinking: Bool) -> String {
        var messages = messages
        if !enableThinking, let last = messages.lastIndex(where: { $0.role == .user }),
            !messages[last].content.hasSuffix(Self.noThinkSwitch)
        {
            messages[last].content += " " + Self.noThinkSwitch
        }
        var text = ""
        if messages.first?.role != .system { text += "[unused9]系统：[unused10]" }
        for message in messages {
            let speaker: String
            switch message.role {
            case .system: speaker = "系统"
            case .user: speaker = "用户"
            case .assistant: speaker = "助手"
            case .tool: speaker = "工具"
            }
            text += "[unused9]" + speaker + "：" + message.content + "[unused10]"
        }
        if addGenerationPrompt { text += "[unused9]助手：" }
        return text
    }

    private func renderLlama3(_ messages: [ChatMessage], addGenerationPrompt: Bool) -> String {
        var text = "<|begin_of_text|>"
        for message in messages {
            let role = message.role == .tool ? "ipython" : message.role.rawValue
            let content = message.content.trimmingWhitespace()
            text += "<|start_header_id|>" + role + "<|end_header_id|>\n\n" + content + "<|eot_id|>"
        }
        if addGenerationPrompt { text += "<|start_header_id|>assistant<|end_header_id|>\n\n" }
        return text
    }

    private func renderChatML(_ messages: [ChatMessage], addGenerationPrompt: Bool) -> String {
        var text = ""
        for message in messages {
            text += "<|im_start|>" + message.role.rawValue + "\n" + message.content + "<|im_end|>\n"
        }
        if addGenerationPrompt { text += "<|im_start|>assistant\n" }
        return text
    }

    private func renderPlain(_ messages: [ChatMessage], addGenerationPrompt: Bool) -> String {
        var text = ""
        for message in messages { text += message.role.rawValue + ": " + message.content + "\n" }
        if addGenerationPrompt { text += "assistant:" }
        return text
    }
}

extension String {
    /// The string without leading and trailing spaces, tabs and newlines.
    func trimmingWhitespace() -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\n" || $0 == "\t" || $0 == "\r" }
        guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else {
            return ""
        }
        return String(self[first...last])
    }
}
