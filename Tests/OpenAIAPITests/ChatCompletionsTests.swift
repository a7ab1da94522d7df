import Foundation
import Testing

@testable import OpenAIAPI

@Suite("POST /v1/chat/completions on a real engine", .enabled(if: SharedData.isAvailable, "../shared/data is absent"))
struct ChatCompletionsTests {
    static var greedy: [String: Any] {
        [
            "model": "tiny-pangu", "max_tokens": 10, "temperature": 0, "ignore_eos": true,
            "messages": [
                ["role": "system", "content": "You are terse."],
                ["role": "user", "content": [["type": "text", "text": "Say hi"]]],
            ],
        ]
    }

    @Test("A non-streamed chat completion has the OpenAI shape")
    func nonStreamShape() async throws {
        try await withSharedFixture { fixture in
            let response = try await fixture.post("/v1/chat/completions", Self.greedy)
            #expect(response.status == 200)
            let json = response.json
            #expect((json["id"] as? String)?.hasPrefix("chatcmpl-") == true)
            #expect(json["object"] as? String == "chat.completion")
            let choice = try #require(choices(json).first)
            let message = try #require(choice["message"] as? [String: Any])
            #expect(message["role"] as? String == "assistant")
            #expect(!(message["content"] as? String ?? "").isEmpty)
            #expect(choice["finish_reason"] as? String == "length")
            // The tiny model has a Llama 2 vocabulary: the plain template renders the prompt.
            let prompt = "system: You are terse.\nuser: Say hi\nassistant:"
            #expect(usage(json)["prompt_tokens"] as? Int == fixture.tokenizer.encode(prompt).count)
            #expect(usage(json)["completion_tokens"] as? Int == 10)
        }
    }

    @Test("The chat stream starts with the assistant role and concatenates to the non-streamed content")
    func streamEqualsNonStream() async throws {
        try await withSharedFixture { fixture in
            let whole = try await fixture.post("/v1/chat/completions", Self.greedy).json
            let expected = (choices(whole).first?["message"] as? [String: Any])?["content"] as? String
            var body = Self.greedy
            body["stream"] = true
            let response = try await fixture.post("/v1/chat/completions", body)
            #expect(response.events.last == "[DONE]")
            let objects = response.eventObjects
            #expect(objects.allSatisfy { $0["object"] as? String == "chat.completion.chunk" })
            let deltas = objects.compactMap { choices($0).first?["delta"] as? [String: Any] }
            #expect(deltas.first?["role"] as? String == "assistant")
            #expect(deltas.compactMap { $0["content"] as? String }.joined() == expected)
            #expect(choices(objects.last ?? [:]).first?["finish_reason"] as? String == "length")
        }
    }

    @Test("Chat logprobs list each token with bytes and top alternatives")
    func chatLogprobs() async throws {
        try await withSharedFixture { fixture in
            var body = Self.greedy
            body["logprobs"] = true
            body["top_logprobs"] = 3
            body["max_tokens"] = 4
            let choice = try #require(choices(try await fixture.post("/v1/chat/completions", body).json).first)
            let content = try #require((choice["logprobs"] as? [String: Any])?["content"] as? [[String: Any]])
            #expect(content.count == 4)
            for entry in content {
                #expect(entry["token"] is String)
                #expect((entry["logprob"] as? Double).map { $0 <= 0 } == true)
                #expect(entry["bytes"] is [Int])
                #expect((entry["top_logprobs"] as? [[String: Any]])?.count == 3)
            }
        }
    }

    @Test("n = 2 in a stream yields two role deltas, both choices and a usage chunk")
    func streamedChoices() async throws {
        try await withSharedFixture { fixture in
            var body = Self.greedy
            body["n"] = 2
            body["stream"] = true
            body["stream_options"] = ["include_usage": true]
            let objects = try await fixture.post("/v1/chat/completions", body).eventObjects
            let indexes = Set(objects.flatMap { choices($0).compactMap { $0["index"] as? Int } })
            #expect(indexes == [0, 1])
            #expect(usage(objects.last ?? [:])["completion_tokens"] as? Int == 20)
            let finals = objects.flatMap(choices).filter { $0["finish_reason"] is String }
            #expect(finals.count == 2)
        }
    }

    @Test("The Pangu template renders the prompt and routes streamed and whole output alike")
    func panguTemplatePath() async throws {
        try await withFixture(chatTemplate: .pangu) { fixture in
            let whole = try await fixture.post("/v1/chat/completions", Self.greedy).json
            let message = try #require(choices(whole).first?["message"] as? [String: Any])
            #expect(message["reasoning_content"] is NSNull)
            let content = try #require(message["content"] as? String)
            let prompt = "[unused9]系统：You are terse.[unused10][unused9]用户：Say hi[unused10][unused9]助手："
            #expect(usage(whole)["prompt_tokens"] as? Int == fixture.tokenizer.encode(prompt).count)
            var body = Self.greedy
            body["stream"] = true
            let objects = try await fixture.post("/v1/chat/completions", body).eventObjects
            let deltas = objects.compactMap { choices($0).first?["delta"] as? [String: Any] }
            #expect(deltas.compactMap { $0["content"] as? String }.joined() == content)
        }
    }
}
