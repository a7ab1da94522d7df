import HTTP1
import HTTPServer
import Tokenizers

/// The small endpoints: model list, version, vLLM's tokenize/detokenize, and the operator probes
/// `/health` (engine loops alive) and `/ready` (serving phase).
struct UtilityEndpoints: Sendable {
    let context: APIContext

    /// `GET /v1/models`: the served model (and its aliases).
    func models() -> HTTPResponse {
        let data = ([context.servedModelName] + context.modelAliases).map(modelObject)
        return .json(JSONValue.object([("object", .string("list")), ("data", .array(data))]).bytes)
    }

    /// `GET /v1/models/{model}`: one model of that list, or 404 `model_not_found`.
    func model(_ request: HTTPRequest) throws -> HTTPResponse {
        let name = request.pathParameters["model"] ?? ""
        guard context.serves(name) else { throw APIError.modelNotFound(name).httpError }
        return .json(modelObject(name).bytes)
    }

    private func modelObject(_ name: String) -> JSONValue {
        .object([
            ("id", .string(name)), ("object", .string("model")), ("created", .int(context.createdTime)),
            ("owned_by", .string("pangu-serve")), ("root", .string(context.servedModelName)), ("parent", .null),
            ("max_model_len", .int(context.maxModelLen)),
        ])
    }

    /// `GET /version`.
    func version() -> HTTPResponse {
        .json(JSONValue.object([("version", .string(context.version))]).bytes)
    }

    /// `POST /tokenize`: `{"model"?, "prompt"}` or `{"model"?, "messages", "add_generation_prompt"?}` →
    /// `{"tokens", "count", "max_model_len"}`. `add_special_tokens` (default true) applies to prompts.
    func tokenize(_ request: HTTPRequest) async throws -> HTTPResponse {
        do {
            let body = try context.decodeBody(request, requireModel: false)
            let tokens: [Int]
            if body.has("messages") {
                let messages = try ChatCompletionsEndpoint.decodeMessages(body)
                let template = context.chatTemplate
                let text = template.render(
                    messages, addGenerationPrompt: try body.bool("add_generation_prompt") ?? true)
                tokens = context.tokenizer.encode(text, addSpecialTokens: !template.rendersBOS, parseSpecial: true)
            } else if let prompt = try body.string("prompt") {
                let addSpecial = try body.bool("add_special_tokens") ?? true
                tokens = context.tokenizer.encode(prompt, addSpecialTokens: addSpecial, parseSpecial: true)
            } else {
                throw APIError.missingParameter("prompt")
            }
            return .json(
                JSONValue.object([
                    ("tokens", .array(tokens.map { .int($0) })), ("count", .int(tokens.count)),
                    ("max_model_len", .int(context.maxModelLen)),
                ]).bytes)
        } catch let error as APIError {
            throw error.httpError
        }
    }

    /// `POST /detokenize`: `{"model"?, "tokens"}` → `{"prompt"}` (special tokens kept).
    func detokenize(_ request: HTTPRequest) async throws -> HTTPResponse {
        do {
            let body = try context.decodeBody(request, requireModel: false)
            guard let items = try body.array("tokens") else { throw APIError.missingParameter("tokens") }
            let vocabSize = context.tokenizer.vocabSize
            var ids: [Int] = []
            for item in items {
                guard let id = RequestBody.asInt(item), (0..<vocabSize).contains(id) else {
                    throw APIError.invalidParameter(param: "tokens", "token ids must be integers in [0, \(vocabSize))")
                }
                ids.append(id)
            }
            let text = context.tokenizer.decode(ids, skipSpecialTokens: false)
            return .json(JSONValue.object([("prompt", .string(text))]).bytes)
        } catch let error as APIError {
            throw error.httpError
        }
    }

    /// `GET /health`: 200 `{"status":"ok"}` while every engine loop runs, else 503.
    func health() -> HTTPResponse {
        if context.engine.isAlive {
            return .json(JSONValue.object([("status", .string("ok"))]).bytes)
        }
        return .error(APIError.notReady("an engine loop has stopped").httpError)
    }

    /// `GET /ready`: 200 `{"status":"ready"}` when serving, else 503 with the OpenAI error body.
    func ready() -> HTTPResponse {
        do {
            try context.requireReady()
            return .json(JSONValue.object([("status", .string("ready"))]).bytes)
        } catch {
            return .error(error.httpError)
        }
    }
}
