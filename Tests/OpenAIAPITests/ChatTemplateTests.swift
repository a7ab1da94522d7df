import Testing
import Tokenizers

@testable import OpenAIAPI

/// A vocabulary that knows only the given pieces (enough for template detection).
struct PieceTokenizer: Tokenizer {
    var pieces: [String]
    var vocabSize: Int { pieces.count }
    var bosTokenID: Int? { nil }
    var eosTokenID: Int? { nil }
    var addsBOS: Bool { false }
    func encode(_ text: String, addSpecialTokens: Bool, parseSpecial: Bool) -> [Int] { [] }
    func decode(_ ids: [Int], skipSpecialTokens: Bool) -> String { "" }
    func piece(for id: Int) -> String? { pieces.indices.contains(id) ? pieces[id] : nil }
    func id(forPiece piece: String) -> Int? { pieces.firstIndex(of: piece) }
    func isSpecial(_ id: Int) -> Bool { false }
}

@Suite("Chat templates")
struct ChatTemplateTests {
    static let conversation = [
        ChatMessage(role: .user, content: "你好"),
        ChatMessage(role: .assistant, content: "Hi!"),
        ChatMessage(role: .tool, content: "42"),
        ChatMessage(role: .user, content: "And?"),
    ]

    @Test("Pangu inserts an empty system turn and ends with the assistant prompt")
    func panguRendering() {
        let text = ChatTemplate.pangu.render(Self.conversation)
        #expect(
            text == "[unused9]系统：[unused10][unused9]用户：你好[unused10][unused9]助手：Hi![unused10]"
                + "[unused9]工具：42[unused10][unused9]用户：And?[unused10][unused9]助手：")
    }

    @Test("Pangu keeps a leading system turn and appends /no_think when thinking is disabled")
    func panguSystemAndNoThink() {
        let messages = [ChatMessage(role: .system, content: "Be brief."), ChatMessage(role: .user, content: "Hi")]
        #expect(
            ChatTemplate.pangu.render(messages, enableThinking: false)
                == "[unused9]系统：Be brief.[unused10][unused9]用户：Hi /no_think[unused10][unused9]助手：")
        let already = [ChatMessage(role: .user, content: "Hi /no_think")]
        #expect(
            ChatTemplate.pangu.render(already, enableThinking: false)
                == "[unused9]系统：[unused10][unused9]用户：Hi /no_think[unused10][unused9]助手：")
    }

    @Test("Llama 3 renders header blocks with trimmed content after <|begin_of_text|>")
    func llama3Rendering() {
        let messages = [ChatMessage(role: .system, content: " S "), ChatMessage(role: .user, content: "U")]
        #expect(
            ChatTemplate.llama3.render(messages)
                == "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nS<|eot_id|>"
                + "<|start_header_id|>user<|end_header_id|>\n\nU<|eot_id|>"
                + "<|start_header_id|>assistant<|end_header_id|>\n\n")
    }

    @Test("ChatML renders im_start/im_end blocks")
    func chatMLRendering() {
        let messages = [ChatMessage(role: .user, content: "U"), ChatMessage(role: .assistant, content: "A")]
        #expect(
            ChatTemplate.chatML.render(messages)
                == "<|im_start|>user\nU<|im_end|>\n<|im_start|>assistant\nA<|im_end|>\n<|im_start|>assistant\n")
    }

    @Test("The plain fallback renders role: content lines")
    func plainRendering() {
        let messages = [ChatMessage(role: .system, content: "S"), ChatMessage(role: .user, content: "U")]
        #expect(ChatTemplate.plain.render(messages) == "system: S\nuser: U\nassistant:")
        #expect(ChatTemplate.plain.render(messages, addGenerationPrompt: false) == "system: S\nuser: U\n")
    }

    @Test("The template is detected from the vocabulary's pieces")
    func detection() {
        #expect(ChatTemplate.detect(tokenizer: PieceTokenizer(pieces: ["a", "[unused9]", "[unused10]"])) == .pangu)
        #expect(ChatTemplate.detect(tokenizer: PieceTokenizer(pieces: ["<|start_header_id|>"])) == .llama3)
        #expect(ChatTemplate.detect(tokenizer: PieceTokenizer(pieces: ["<|im_start|>"])) == .chatML)
        #expect(ChatTemplate.detect(tokenizer: PieceTokenizer(pieces: ["[unused9]", "x"])) == .plain)
    }

    @Test("Pangu thinking text is split from the answer, also when markers arrive in pieces")
    func reasoningSplit() {
        let whole = ReasoningParser.split("[unused16]think hard[unused17]The answer.[unused10]")
        #expect(whole.reasoning == "think hard")
        #expect(whole.content == "The answer.")
        #expect(ReasoningParser.split("plain answer").reasoning == nil)
        #expect(ReasoningParser.split("[unused16]a[unused17]b</s>", droppedPieces: ["</s>"]).content == "b")
        var parser = ReasoningParser()
        var reasoning = ""
        var content = ""
        for piece in ["[unu", "sed16]th", "ink[unused1", "7]Ans", "wer[", "unused10]"] {
            let out = parser.feed(piece)
            reasoning += out.reasoning
            content += out.content
        }
        let rest = parser.flush()
        #expect(reasoning + rest.reasoning == "think")
        #expect(content + rest.content == "Answer")
    }
}
