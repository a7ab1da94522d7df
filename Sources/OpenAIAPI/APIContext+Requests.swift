import Engine
import Foundation
import HTTP1
import HTTPServer

extension APIContext {
    /// Refuses generation unless the server is ready and the engine accepts requests.
    func requireReady() throws(APIError) {
        switch readiness.state {
        case .loading: throw .notReady("the model is still loading")
        case .draining: throw .notReady("the server is draining")
        case .ready: if !engine.isReady { throw .notReady("the engine is not accepting requests") }
        }
    }

    /// Decodes the body and checks `model` (required by generation endpoints, optional elsewhere).
    func decodeBody(_ request: HTTPRequest, requireModel: Bool) throws(APIError) -> RequestBody {
        let body = try RequestBody(bytes: request.body)
        if let model = try body.string("model") {
            guard serves(model) else { throw .modelNotFound(model) }
        } else if requireModel {
            throw .missingParameter("model")
        }
        return body
    }

    /// Checks prompt and output lengths against the context; returns the effective `max_tokens`.
    func resolveMaxTokens(numPromptTokens: Int, requested: Int?, defaultLimit: Int?, promptParam: String)
        throws(APIError) -> Int
    {
        let room = maxModelLen - numPromptTokens
        guard room >= 1 else {
            throw .contextLengthExceeded(
                param: promptParam, numPromptTokens: numPromptTokens, numRequestedTokens: requested ?? 0,
                maxModelLen: maxModelLen)
        }
        if let requested {
            guard requested <= room else {
                throw .contextLengthExceeded(
                    param: "max_tokens", numPromptTokens: numPromptTokens, numRequestedTokens: requested,
                    maxModelLen: maxModelLen)
            }
            return requested
        }
        return min(defaultLimit ?? room, room)
    }

    /// A fresh response id with the endpoint's prefix (`cmpl-`, `chatcmpl-`).
    static func makeResponseID(prefix: String) -> String {
        prefix + HTTPMiddleware.generateRequestID()
    }

    /// Unix seconds for `created`.
    static func unixTime() -> Int { Int(Date().timeIntervalSince1970) }
}

/// Runs an endpoint body, turning `APIError`s into their HTTP error response (status and OpenAI body).
func withAPIErrors(_ body: () async throws -> Void) async throws {
    do {
        try await body()
    } catch let error as APIError {
        throw error.httpError
    }
}
