import Engine
import HTTP1
import HTTPServer
import Tokenizers

/// `POST /v1/completions`: decodes prompts and parameters, submits one engine request per prompt and
/// choice, and answers with a `text_completion` object or its SSE stream.
///
/// Choice indexes are `promptIndex * n + i`. `echo` prepends the prompt text to each choice (prompt
/// log-probabilities are not computed). Contains no generation logic.
struct CompletionsEndpoint: Sendable {
    let context: APIContext

    /// One decoded prompt.
    struct Prompt: Sendable {
        var tokenIDs: [Int]
        var text: String
    }

    func handle(_ request: HTTPRequest, _ writer: ResponseWriter) async throws {
        try await withAPIErrors {
            try context.requireReady()
            let body = try context.decodeBody(request, requireModel: true)
            let prompts = try decodePrompts(body)
            let params = try GenerationParameters(body: body, kind: .completion, vocabSize: context.tokenizer.vocabSize)
            let responseID = APIContext.makeResponseID(prefix: "cmpl-")
            var requests: [EngineRequest] = []
            for (index, prompt) in prompts.enumerated() {
                let maxTokens = try context.resolveMaxTokens(
                    numPromptTokens: prompt.tokenIDs.count, requested: params.maxTokens, defaultLimit: 16,
                    promptParam: "prompt")
                requests += params.engineRequests(
                    idPrefix: "\(responseID)-\(index)", promptTokenIDs: prompt.tokenIDs, maxTokens: maxTokens)
            }
            let session = try GenerationSession.start(engine: context.engine, requests: requests, writer: writer)
            let run = CompletionRun(
                context: context, params: params, prompts: prompts, responseID: responseID,
                created: APIContext.unixTime(), numChoices: requests.count)
            if params.stream {
                try await run.stream(session, writer: writer)
            } else {
                try await run.respond(session, writer: writer)
            }
        }
    }

    /// `prompt` as a string, a list of strings, a list of token ids, or a list of lists of token ids.
    func decodePrompts(_ body: RequestBody) throws(APIError) -> [Prompt] {
        guard let value = body.value("prompt") else { throw .missingParameter("prompt") }
        let tokenizer = context.tokenizer
        if let text = value as? String { return [Prompt(tokenIDs: tokenizer.encode(text), text: text)] }
        guard let items = value as? [Any], !items.isEmpty else {
            throw .invalidParameter(param: "prompt", "expected a non-empty string, list of strings or token ids")
        }
        if let texts = items as? [String] {
            return texts.map { Prompt(tokenIDs: tokenizer.encode($0), text: $0) }
        }
        if items.allSatisfy({ RequestBody.asInt($0) != nil }) {
            let ids = try tokenIDs(items)
            return [Prompt(tokenIDs: ids, text: tokenizer.decode(ids, skipSpecialTokens: false))]
        }
        var prompts: [Prompt] = []
        for item in items {
            guard let list = item as? [Any], !list.isEmpty else {
                throw .invalidParameter(param: "prompt", "expected a string, list of strings or token ids")
            }
            let ids = try tokenIDs(list)
            prompts.append(Prompt(tokenIDs: ids, text: tokenizer.decode(ids, skipSpecialTokens: false)))
        }
        return prompts
    }

    private func tokenIDs(_ items: [Any]) throws(APIError) -> [Int] {
        let vocabSize = context.tokenizer.vocabSize
        var ids: [Int] = []
        for item in items {
            guard let id = RequestBody.asInt(item), (0..<vocabSize).contains(id) else {
                throw .invalidParameter(param: "prompt", "token ids must be integers in [0, \(vocabSize))")
            }
            ids.append(id)
        }
        return ids
    }
}
