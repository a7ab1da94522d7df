import Engine
import Testing

@testable import OpenAIAPI

@Suite("JSON wire format and parameter decoding")
struct WireFormatTests {
    @Test("JSON encoding keeps key order, escapes strings and clamps non-finite numbers")
    func encoding() {
        let value = JSONValue.object([
            ("b", .int(1)), ("a", .string("q\"\\\n\u{1}é")), ("l", .logprob(-.infinity)), ("n", .double(.nan)),
            ("x", .double(0.25)), ("y", .double(2)), ("z", .array([.bool(true), .null])),
        ])
        #expect(
            value.encoded
                == #"{"b":1,"a":"q\"\\\n\u0001é","l":-9999.0,"n":null,"x":0.25,"y":2.0,"z":[true,null]}"#)
    }

    @Test("Numbers are lenient (1.0 is an integer) but booleans and strings are not numbers")
    func lenientNumbers() throws {
        let body = try RequestBody(bytes: Array(#"{"a": 1.0, "b": true, "c": "2", "d": 1.5, "e": null}"#.utf8))
        #expect(try body.int("a") == 1)
        #expect(throws: APIError.invalidParameter(param: "b", "expected an integer")) { try body.int("b") }
        #expect(throws: APIError.invalidParameter(param: "c", "expected a number")) { try body.double("c") }
        #expect(throws: APIError.invalidParameter(param: "d", "expected an integer")) { try body.int("d") }
        #expect(try body.bool("b") == true)
        #expect(try body.int("e") == nil)
        #expect(throws: APIError.self) { try RequestBody(bytes: Array("[1]".utf8)) }
    }

    @Test("n choices get distinct ids and seeds derived from seed, and chat end-of-turn stop ids")
    func engineRequests() throws {
        let body = try RequestBody(
            bytes: Array(#"{"n": 3, "seed": 10, "stop": "END", "max_completion_tokens": 7, "top_k": 5}"#.utf8))
        let params = try GenerationParameters(body: body, kind: .chat, vocabSize: 100)
        #expect(params.maxTokens == 7)
        let requests = params.engineRequests(
            idPrefix: "chatcmpl-x", promptTokenIDs: [1, 2], maxTokens: 7, extraStopTokenIDs: [9])
        #expect(requests.map(\.requestID) == ["chatcmpl-x-0", "chatcmpl-x-1", "chatcmpl-x-2"])
        #expect(requests.map(\.samplingParams.seed) == [10, 11, 12])
        #expect(requests.allSatisfy { $0.stop == ["END"] && $0.samplingParams.stopTokenIDs == [9] })
        #expect(requests.allSatisfy { $0.samplingParams.topK == 5 && $0.samplingParams.maxTokens == 7 })
    }

    @Test("Chat-only and completion-only parameters are checked per endpoint")
    func endpointSpecificParameters() throws {
        let chat = try RequestBody(bytes: Array(#"{"top_logprobs": 2}"#.utf8))
        #expect(throws: APIError.invalidParameter(param: "top_logprobs", "requires logprobs: true")) {
            try GenerationParameters(body: chat, kind: .chat, vocabSize: 100)
        }
        let kwargs = try RequestBody(bytes: Array(#"{"chat_template_kwargs": {"enable_thinking": false}}"#.utf8))
        #expect(try GenerationParameters(body: kwargs, kind: .chat, vocabSize: 100).enableThinking == false)
        let options = try RequestBody(bytes: Array(#"{"stream_options": {"include_usage": true}}"#.utf8))
        #expect(throws: APIError.self) { try GenerationParameters(body: options, kind: .completion, vocabSize: 100) }
        let bias = try RequestBody(bytes: Array(#"{"logit_bias": {"5": 200}}"#.utf8))
        #expect(throws: APIError.self) { try GenerationParameters(body: bias, kind: .completion, vocabSize: 100) }
    }

    @Test(
        "Parameters this server cannot honour are refused by name; their neutral values are accepted",
        arguments: [
            (#"{"suffix": "end"}"#, GenerationParameters.Kind.completion, "suffix"),
            (#"{"best_of": 3}"#, .completion, "best_of"),
            (#"{"response_format": {"type": "json_object"}}"#, .chat, "response_format"),
            (#"{"response_format": {"type": "json_schema", "json_schema": {}}}"#, .completion, "response_format"),
            (#"{"tools": [{"type": "function", "function": {"name": "f"}}]}"#, .chat, "tools"),
            (#"{"tools": [{"type": "function"}], "tool_choice": "auto"}"#, .chat, "tools"),
            (#"{"functions": [{"name": "f"}]}"#, .chat, "tools"),
            (#"{"tool_choice": "required"}"#, .chat, "tool_choice"),
            (#"{"suffix": "", "best_of": 2, "n": 2, "response_format": {"type": "text"}}"#, .completion, ""),
            (#"{"tools": [{"type": "function"}], "tool_choice": "none", "response_format": {}}"#, .chat, ""),
            (#"{"tools": [], "suffix": "ignored by chat"}"#, .chat, ""),
        ])
    func unsupportedParameters(json: String, kind: GenerationParameters.Kind, refused: String) throws {
        let body = try RequestBody(bytes: Array(json.utf8))
        if refused.isEmpty {
            _ = try GenerationParameters(body: body, kind: kind, vocabSize: 100)
            return
        }
        #expect {
            try GenerationParameters(body: body, kind: kind, vocabSize: 100)
        } throws: { error in
            guard case APIError.invalidParameter(let param, let message) = error else { return false }
            return param == refused && message.contains("not supported")
        }
    }

    @Test("Engine refusals map to their HTTP statuses")
    func engineErrorMapping() {
        #expect(APIError.from(.queueFull(numWaitingRequests: 1, numWaitingTokens: 2)).httpError.status.code == 429)
        #expect(APIError.from(.promptTooLong(numTokens: 9, maxModelLen: 8)).httpError.status.code == 400)
        #expect(APIError.from(.shuttingDown).httpError.status.code == 503)
        #expect(APIError.notReady("x").httpError.status.code == 503)
    }
}
