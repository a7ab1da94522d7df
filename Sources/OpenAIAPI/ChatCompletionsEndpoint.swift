import Engine
import HTTP1
import HTTPServer
import Tokenizers

/// `POST /v1/chat/completions`: decodes `messages`, renders them with the checkpoint's chat template,
/// submits `n` engine requests and answers with a `chat.completion` object or its SSE stream.
///
/// The default `max_tokens` is the room left in the context. The template's end-of-turn piece is an extra
/// stop token. For templates with thinking (Pangu), special tokens are kept in the engine's text so the
/// `[unused16]`/`[unused17]` markers can split `reasoning_content` from `content`.
struct ChatCompletionsEndpoint: Sendable {
    let context: APIContext

    func handle(_ request: HTTPRequest, _ writer: ResponseWriter) async throws {
        try await withAPIErrors {
            try context.requireReady()
            let body = try context.decodeBody(request, requireModel: true)
            let messages = try Self.decodeMessages(body)
            var params = try GenerationParameters(body: body, kind: .chat, vocabSize: context.tokenizer.vocabSize)
            let template = context.chatTemplate
            let promptIDs = promptTokenIDs(messages, enableThinking: params.enableThinking)
            let maxTokens = try context.resolveMaxTokens(
                numPromptTokens: promptIDs.count, requested: params.maxTokens, defaultLimit: nil,
                promptParam: "messages")
            if template.supportsReasoning { params.skipSpecialTokens = false }
            let endOfTurnIDs = template.endOfTurnPieces.compactMap { context.tokenizer.id(forPiece: $0) }
            let responseID = APIContext.makeResponseID(prefix: "chatcmpl-")
            let requests = params.engineRequests(
                idPrefix: responseID, promptTokenIDs: promptIDs, maxTokens: maxTokens, extraStopTokenIDs: endOfTurnIDs)
            let session = try GenerationSession.start(engine: context.engine, requests: requests, writer: writer)
            let run = ChatCompletionRun(
                context: context, params: params, responseID: responseID, created: APIContext.unixTime())
            if params.stream {
                try await run.stream(session, writer: writer)
            } else {
                try await run.respond(session, writer: writer)
            }
        }
    }

    /// The prompt ids of `messages` under the context's template.
    func promptTokenIDs(_ messages: [ChatMessage], enableThinking: Bool) -> [Int] {
        let template = context.chatTemplate
        let text = template.render(messages, addGenerationPrompt: true, enableThinking: enableThinking)
        return context.tokenizer.encode(text, addSpecialTokens: !template.rendersBOS, parseSpecial: true)
    }

    /// `messages`: a non-empty list of `{"role", "content"}` with roles system (or developer), user,
    /// assistant, tool, and content a string, null, or a list of `{"type": "text", "text": ...}` parts.
    static func decodeMessages(_ body: RequestBody) throws(APIError) -> [ChatMessage] {
        guard let items = try body.array("messages") else { throw .missingParameter("messages") }
        guard !items.isEmpty else { throw .invalidParameter(param: "messages", "must not be empty") }
        var messages: [ChatMessage] = []
        for (index, item) in items.enumerated() {
            guard let fields = item as? [String: Any] else {
                throw .invalidParameter(param: "messages", "message \(index) is not an object")
            }
            let message = RequestBody(fields: fields)
            let roleName = (try? message.string("role")) ?? nil
            guard let roleName, let role = roleName == "developer" ? .system : ChatMessage.Role(rawValue: roleName)
            else {
                throw .invalidParameter(param: "messages", "message \(index) has no valid role")
            }
            messages.append(ChatMessage(role: role, content: try content(message.value("content"), index: index)))
        }
        return messages
    }

    private static func content(_ value: Any?, index: Int) throws(APIError) -> String {
        guard let value else { return "" }
        if let text = value as? String { return text }
        guard let parts = value as? [Any] else {
            throw .invalidParameter(param: "messages", "content of message \(index) must be a string or a list")
        }
        var texts: [String] = []
        for part in parts {
            guard let fields = part as? [String: Any], fields["type"] as? String == "text",
                let partText = fields["text"] as? String
            else {
                throw .invalidParameter(param: "messages", "message \(index): only text content parts are supported")
            }
            texts.append(partText)
        }
        return texts.joined(separator: "\n")
    }
}
