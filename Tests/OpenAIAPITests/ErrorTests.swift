import Foundation
import HTTPTestSupport
import Testing

@testable import OpenAIAPI

func errorBody(_ response: TestResponse) -> [String: Any] { response.json["error"] as? [String: Any] ?? [:] }

@Suite("Error statuses and bodies", .enabled(if: SharedData.isAvailable, "../shared/data is absent"))
struct ErrorTests {
    @Test("Out-of-range and wrongly-typed parameters answer 400 naming the param")
    func badParameters() async throws {
        try await withFixture { fixture in
            let cases: [(String, Any, String)] = [
                ("temperature", 5, "temperature"), ("max_tokens", "many", "max_tokens"), ("top_p", 0, "top_p"),
                ("n", 0, "n"), ("stream", "yes", "stream"), ("logprobs", 21, "logprobs"), ("stop", 3, "stop"),
                ("presence_penalty", -3, "presence_penalty"), ("logit_bias", ["x": 1], "logit_bias"),
                ("max_tokens", true, "max_tokens"),
            ]
            for (key, value, param) in cases {
                var body: [String: Any] = ["model": "tiny-pangu", "prompt": "Hi"]
                body[key] = value
                let response = try await fixture.post("/v1/completions", body)
                #expect(response.status == 400, "\(key)")
                let error = errorBody(response)
                #expect(error["param"] as? String == param, "\(key)")
                #expect(error["type"] as? String == "invalid_request_error")
                #expect(error["message"] is String && error["code"] != nil)
            }
            let noMessages = try await fixture.post("/v1/chat/completions", ["model": "tiny-pangu"])
            #expect(noMessages.status == 400 && errorBody(noMessages)["param"] as? String == "messages")
            let badJSON = try await fixture.send("POST", "/v1/completions", body: "{not json")
            #expect(badJSON.status == 400)
        }
    }

    @Test("A prompt longer than the context answers 400 context_length_exceeded")
    func promptTooLong() async throws {
        try await withFixture { fixture in
            let ids = [Int](repeating: 300, count: 600)
            let response = try await fixture.post("/v1/completions", ["model": "tiny-pangu", "prompt": ids])
            #expect(response.status == 400)
            #expect(errorBody(response)["code"] as? String == "context_length_exceeded")
            #expect(errorBody(response)["param"] as? String == "prompt")
            let tooMany = try await fixture.post(
                "/v1/completions", ["model": "tiny-pangu", "prompt": "Hi", "max_tokens": 100_000])
            #expect(tooMany.status == 400 && errorBody(tooMany)["param"] as? String == "max_tokens")
        }
    }

    @Test("An unknown model answers 404 model_not_found; an unknown route 404")
    func notFound() async throws {
        try await withFixture { fixture in
            let model = try await fixture.post("/v1/completions", ["model": "gpt-9", "prompt": "Hi"])
            #expect(model.status == 404)
            #expect(errorBody(model)["code"] as? String == "model_not_found")
            let route = try await fixture.send("GET", "/v1/nothing")
            #expect(route.status == 404)
            #expect(errorBody(route)["message"] is String)
        }
    }

    @Test("A full waiting queue answers 429 with Retry-After")
    func queueFull() async throws {
        try await withFixture(maxNumWaitingRequests: 1) { fixture in
            let response = try await fixture.post("/v1/completions", ["model": "tiny-pangu", "prompt": "Hi", "n": 2])
            #expect(response.status == 429)
            #expect(response.headers["Retry-After"] == "1")
            #expect(errorBody(response)["code"] as? String == "queue_full")
        }
    }

    @Test("A body over the limit answers 413 with the OpenAI error body")
    func bodyTooLarge() async throws {
        try await withFixture(maxBodyBytes: 1024) { fixture in
            let response = try await fixture.post(
                "/v1/completions", ["model": "tiny-pangu", "prompt": String(repeating: "a", count: 4096)])
            #expect(response.status == 413)
            #expect(errorBody(response)["message"] is String)
        }
    }

    @Test("While loading or draining, generation and /ready answer 503")
    func notReady() async throws {
        try await withFixture { fixture in
            for state in [Readiness.State.loading, .draining] {
                fixture.readiness.set(state)
                let ready = try await fixture.send("GET", "/ready")
                #expect(ready.status == 503)
                #expect(errorBody(ready)["message"] is String)
                let completion = try await fixture.post("/v1/completions", ["model": "tiny-pangu", "prompt": "Hi"])
                #expect(completion.status == 503)
            }
            fixture.readiness.set(.ready)
            #expect(try await fixture.send("GET", "/ready").status == 200)
        }
    }

    @Test("A worker failure answers 500, or ends a started stream with an error event and [DONE]")
    func generationFailure() async throws {
        try await withFixture(failFromStep: 3) { fixture in
            let body: [String: Any] = ["model": "tiny-pangu", "prompt": "Hi", "max_tokens": 20, "ignore_eos": true]
            let response = try await fixture.post("/v1/completions", body)
            #expect(response.status == 500)
            #expect(errorBody(response)["code"] as? String == "generation_failed")
            var streamed = body
            streamed["stream"] = true
            let stream = try await fixture.post("/v1/completions", streamed)
            #expect(stream.status == 200)
            #expect(stream.events.last == "[DONE]")
            #expect(stream.eventObjects.last?["error"] is [String: Any])
        }
    }
}
