import Foundation
import Telemetry
import Testing

@testable import OpenAIAPI

/// Runs `body` against a fresh server and stops it afterwards.
func withFixture(
    numBlocks: Int = 256, maxNumWaitingRequests: Int = 64, maxBodyBytes: Int = 1 << 20,
    chatTemplate: ChatTemplate? = nil, failFromStep: Int? = nil, stepDelay: Duration? = nil,
    numSpeculativeTokens: Int = 0, logSink: Logger.Sink? = nil, _ body: (APIServerFixture) async throws -> Void
) async throws {
    // Loading the model and tokenizer takes a while in debug builds: do it on its own thread, never on the
    // cooperative pool, whose few threads every server handler in the test process (HTTPServerTests
    // included, when the targets run in parallel) needs.
    let fixture = try await offPool {
        try APIServerFixture(
            numBlocks: numBlocks, maxNumWaitingRequests: maxNumWaitingRequests, maxBodyBytes: maxBodyBytes,
            chatTemplate: chatTemplate, failFromStep: failFromStep, stepDelay: stepDelay,
            numSpeculativeTokens: numSpeculativeTokens, logSink: logSink)
    }
    do {
        try await body(fixture)
    } catch {
        await fixture.stop()
        throw error
    }
    await fixture.stop()
}

/// One server shared by the tests that only read their own responses (started on first use, never stopped).
/// Touch it only through `withSharedFixture`: its lazy initialiser loads the model and blocks every thread
/// that reaches it meanwhile, which must never be a cooperative-pool thread.
let sharedFixture: APIServerFixture? = try? APIServerFixture()

/// Runs `body` against the shared server (initialised off the cooperative pool on first use).
func withSharedFixture(_ body: (APIServerFixture) async throws -> Void) async throws {
    let fixture = try await offPool { sharedFixture }
    try await body(try #require(fixture))
}

func choices(_ json: [String: Any]) -> [[String: Any]] { json["choices"] as? [[String: Any]] ?? [] }
func usage(_ json: [String: Any]) -> [String: Any] { json["usage"] as? [String: Any] ?? [:] }

@Suite("POST /v1/completions on a real engine", .enabled(if: SharedData.isAvailable, "../shared/data is absent"))
struct CompletionsTests {
    static var greedy: [String: Any] {
        [
            "model": "tiny-pangu", "prompt": "Once upon a time", "max_tokens": 12, "temperature": 0, "ignore_eos": true,
        ]
    }

    @Test("A non-streamed completion has the OpenAI shape and usage")
    func nonStreamShape() async throws {
        try await withSharedFixture { fixture in
            let response = try await fixture.post("/v1/completions", Self.greedy)
            #expect(response.status == 200)
            let json = response.json
            #expect((json["id"] as? String)?.hasPrefix("cmpl-") == true)
            #expect(json["object"] as? String == "text_completion")
            #expect(json["model"] as? String == "tiny-pangu")
            #expect(json["created"] as? Int != nil)
            let choice = try #require(choices(json).first)
            #expect(choice["index"] as? Int == 0)
            #expect(choice["finish_reason"] as? String == "length")
            #expect(choice["logprobs"] is NSNull)
            #expect(!(choice["text"] as? String ?? "").isEmpty)
            let promptTokens = fixture.tokenizer.encode("Once upon a time").count
            #expect(usage(json)["prompt_tokens"] as? Int == promptTokens)
            #expect(usage(json)["completion_tokens"] as? Int == 12)
            #expect(usage(json)["total_tokens"] as? Int == promptTokens + 12)
            #expect((usage(json)["prompt_tokens_details"] as? [String: Any])?["cached_tokens"] as? Int != nil)
        }
    }

    @Test("Greedy streamed text concatenates to the non-streamed text; usage chunk then [DONE]")
    func streamEqualsNonStream() async throws {
        try await withSharedFixture { fixture in
            let whole = try await fixture.post("/v1/completions", Self.greedy)
            let expected = choices(whole.json).first?["text"] as? String
            var body = Self.greedy
            body["stream"] = true
            body["stream_options"] = ["include_usage": true]
            let response = try await fixture.post("/v1/completions", body)
            #expect(response.status == 200)
            #expect(response.headers["Content-Type"] == "text/event-stream")
            #expect(response.events.last == "[DONE]")
            let objects = response.eventObjects
            let tokenChunks = objects.dropLast()
            #expect(tokenChunks.count >= 2)
            let text = tokenChunks.compactMap { choices($0).first?["text"] as? String }.joined()
            #expect(text == expected)
            #expect(tokenChunks.allSatisfy { $0["object"] as? String == "text_completion" })
            #expect(choices(tokenChunks.last ?? [:]).first?["finish_reason"] as? String == "length")
            #expect(tokenChunks.dropLast().allSatisfy { choices($0).first?["finish_reason"] is NSNull })
            let usageChunk = try #require(objects.last)
            #expect(choices(usageChunk).isEmpty)
            #expect(usage(usageChunk)["completion_tokens"] as? Int == 12)
        }
    }

    @Test("A repeated prompt reports cached prompt tokens")
    func cachedTokens() async throws {
        try await withSharedFixture { fixture in
            var body = Self.greedy
            body["prompt"] = "The quick brown fox jumps over the lazy dog again and again"
            body["max_tokens"] = 2
            _ = try await fixture.post("/v1/completions", body)
            let second = try await fixture.post("/v1/completions", body).json
            let cached = (usage(second)["prompt_tokens_details"] as? [String: Any])?["cached_tokens"] as? Int ?? 0
            #expect(cached >= APIServerFixture.blockSize)
        }
    }

    @Test("n = 2 gives two indexed choices, reproducible with a seed")
    func multipleChoices() async throws {
        try await withSharedFixture { fixture in
            let body: [String: Any] = [
                "model": "tiny-pangu", "prompt": "Hello", "max_tokens": 6, "n": 2, "seed": 7, "temperature": 1,
                "ignore_eos": true,
            ]
            let first = try await fixture.post("/v1/completions", body).json
            let second = try await fixture.post("/v1/completions", body).json
            #expect(choices(first).compactMap { $0["index"] as? Int }.sorted() == [0, 1])
            #expect(usage(first)["completion_tokens"] as? Int == 12)
            let texts = choices(first).compactMap { $0["text"] as? String }
            #expect(texts == choices(second).compactMap { $0["text"] as? String })
            #expect(texts.count == 2)
        }
    }

    @Test("A stop string ends the text before it, in both modes, and is never partially streamed")
    func stopStrings() async throws {
        try await withSharedFixture { fixture in
            var body = Self.greedy
            body["max_tokens"] = 24
            let full = try #require(
                choices(try await fixture.post("/v1/completions", body).json).first?["text"] as? String)
            let characters = Array(full)
            let start = try #require(
                (2..<max(2, characters.count - 2)).first { index in
                    let candidate = String(characters[index..<index + 2])
                    return full.range(of: candidate)?.lowerBound == full.index(full.startIndex, offsetBy: index)
                        && !candidate.contains(" ")
                })
            let stop = String(characters[start..<start + 2])
            let expected = String(characters[..<start])
            body["stop"] = [stop]
            let choice = try #require(choices(try await fixture.post("/v1/completions", body).json).first)
            #expect(choice["text"] as? String == expected)
            #expect(choice["finish_reason"] as? String == "stop")
            #expect(choice["stop_reason"] as? String == stop)
            body["stream"] = true
            let streamed = try await fixture.post("/v1/completions", body).eventObjects
            #expect(streamed.compactMap { choices($0).first?["text"] as? String }.joined() == expected)
        }
    }

    @Test("logprobs returns tokens, finite log-probabilities, top alternatives and text offsets")
    func completionLogprobs() async throws {
        try await withSharedFixture { fixture in
            var body = Self.greedy
            body["logprobs"] = 2
            body["max_tokens"] = 5
            let choice = try #require(choices(try await fixture.post("/v1/completions", body).json).first)
            let logprobs = try #require(choice["logprobs"] as? [String: Any])
            let tokens = try #require(logprobs["tokens"] as? [String])
            let values = try #require(logprobs["token_logprobs"] as? [Double])
            let tops = try #require(logprobs["top_logprobs"] as? [[String: Double]])
            let offsets = try #require(logprobs["text_offset"] as? [Int])
            #expect(tokens.count == 5 && values.count == 5 && tops.count == 5 && offsets.count == 5)
            #expect(values.allSatisfy { $0 <= 0 && $0 > -10000 })
            #expect(tops.allSatisfy { (1...2).contains($0.count) })
            #expect(offsets == offsets.sorted() && offsets.first == 0)
        }
    }

    @Test("Speculative decoding changes no response (text, logprobs, streamed text) and is counted in /metrics")
    func speculativeDecoding() async throws {
        var body: [String: Any] = [
            "model": "tiny-pangu", "prompt": "one two three one two three one two three one two three",
            "max_tokens": 40,
            "temperature": 0, "logprobs": 1, "ignore_eos": true,
        ]
        var plain: [String: Any] = [:]
        try await withSharedFixture { plain = choices(try await $0.post("/v1/completions", body).json).first ?? [:] }
        let plainText = try #require(plain["text"] as? String)
        let plainLogprobs = (plain["logprobs"] as? [String: Any])?["token_logprobs"] as? [Double] ?? []
        try await withFixture(numSpeculativeTokens: 4) { fixture in
            let choice = try #require(choices(try await fixture.post("/v1/completions", body).json).first)
            #expect(choice["text"] as? String == plainText)
            let logprobs = (choice["logprobs"] as? [String: Any])?["token_logprobs"] as? [Double] ?? []
            #expect(logprobs.count == 40 && plainLogprobs.count == 40)
            #expect(zip(logprobs, plainLogprobs).allSatisfy { abs($0 - $1) < 1e-3 })
            body["stream"] = true
            let streamed = try await fixture.post("/v1/completions", body).eventObjects
            #expect(streamed.compactMap { choices($0).first?["text"] as? String }.joined() == plainText)
            let metrics = try await fixture.send("GET", "/metrics").text
            let accepted = metrics.split(separator: "\n").first {
                $0.hasPrefix("pangu:spec_decode_num_accepted_tokens_total{")
            }
            let count = accepted.flatMap { Double($0.split(separator: " ").last ?? "") } ?? 0
            #expect(count > 0, "\(accepted ?? "no accepted-token series")")
        }
    }

    @Test("Token-id prompts and lists of prompts are accepted; echo prepends the prompt")
    func promptForms() async throws {
        try await withSharedFixture { fixture in
            let ids = fixture.tokenizer.encode("Hello world")
            let body: [String: Any] = ["model": "tiny-pangu", "prompt": [ids, ids], "max_tokens": 3, "temperature": 0]
            let json = try await fixture.post("/v1/completions", body).json
            #expect(choices(json).count == 2)
            #expect(usage(json)["prompt_tokens"] as? Int == 2 * ids.count)
            let echo: [String: Any] = ["model": "tiny-pangu", "prompt": "Hello world", "max_tokens": 3, "echo": true]
            let text = choices(try await fixture.post("/v1/completions", echo).json).first?["text"] as? String
            #expect(text?.hasPrefix("Hello world") == true)
        }
    }
}
