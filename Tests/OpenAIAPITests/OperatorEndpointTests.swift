import Engine
import Foundation
import HTTPTestSupport
import Synchronization
import Testing

@testable import OpenAIAPI

@Suite(
    "Models, version, tokenize, probes and metrics", .enabled(if: SharedData.isAvailable, "../shared/data is absent"))
struct OperatorEndpointTests {
    @Test("/v1/models lists the served model; /version reports the version")
    func modelsAndVersion() async throws {
        try await withFixture { fixture in
            let models = try await fixture.send("GET", "/v1/models").json
            #expect(models["object"] as? String == "list")
            let data = try #require((models["data"] as? [[String: Any]])?.first)
            #expect(data["id"] as? String == "tiny-pangu" && data["object"] as? String == "model")
            #expect(data["max_model_len"] as? Int == 512)
            #expect(try await fixture.send("GET", "/version").json["version"] as? String == "0.0.0-test")
        }
    }

    @Test("/v1/models/{model} retrieves the served model or an alias with a slash; another name is 404")
    func retrieveModel() async throws {
        try await withFixture { fixture in
            let served = try await fixture.send("GET", "/v1/models/tiny-pangu")
            #expect(served.status == 200)
            #expect(served.json["id"] as? String == "tiny-pangu" && served.json["object"] as? String == "model")
            let alias = try await fixture.send("GET", "/v1/models/org/tiny-pangu").json
            #expect(alias["id"] as? String == "org/tiny-pangu" && alias["root"] as? String == "tiny-pangu")
            let listed = try await fixture.send("GET", "/v1/models").json["data"] as? [[String: Any]]
            #expect(listed?.compactMap { $0["id"] as? String } == ["tiny-pangu", "org/tiny-pangu"])
            let missing = try await fixture.send("GET", "/v1/models/gpt-4")
            #expect(missing.status == 404)
            #expect(missing.text.contains(#""code":"model_not_found""#) && missing.text.contains("gpt-4"))
        }
    }

    @Test("/tokenize and /detokenize round-trip text and chat messages")
    func tokenizeRoundTrip() async throws {
        try await withFixture { fixture in
            let tokenized = try await fixture.post("/tokenize", ["model": "tiny-pangu", "prompt": "Hello world"]).json
            let tokens = try #require(tokenized["tokens"] as? [Int])
            #expect(tokens == fixture.tokenizer.encode("Hello world"))
            #expect(tokenized["count"] as? Int == tokens.count)
            #expect(tokenized["max_model_len"] as? Int == 512)
            let text = try await fixture.post("/detokenize", ["model": "tiny-pangu", "tokens": tokens]).json
            #expect((text["prompt"] as? String)?.hasSuffix("Hello world") == true)
            let chat = try await fixture.post(
                "/tokenize", ["model": "tiny-pangu", "messages": [["role": "user", "content": "Hi"]]]
            ).json
            #expect(chat["tokens"] as? [Int] == fixture.tokenizer.encode("user: Hi\nassistant:"))
            let bad = try await fixture.post("/detokenize", ["tokens": [-1]])
            #expect(bad.status == 400 && errorBody(bad)["param"] as? String == "tokens")
        }
    }

    @Test("/health is 200 while the engine runs and 503 once its loop stopped")
    func health() async throws {
        try await withFixture { fixture in
            let response = try await fixture.send("GET", "/health")
            #expect(response.status == 200)
            #expect(response.json["status"] as? String == "ok")
            await fixture.engine.shutdown(drain: false)
            #expect(try await fixture.send("GET", "/health").status == 503)
        }
    }

    @Test("/metrics exposes the pangu: families after a request")
    func metrics() async throws {
        try await withFixture { fixture in
            _ = try await fixture.post("/v1/completions", ["model": "tiny-pangu", "prompt": "Hi", "max_tokens": 3])
            let names = [
                "pangu:num_requests_running{model_name=\"tiny-pangu\"}", "pangu:num_requests_waiting",
                "pangu:kv_cache_usage_perc", "pangu:prompt_tokens_total", "pangu:generation_tokens_total",
                "pangu:request_success_total{model_name=\"tiny-pangu\",finished_reason=\"length\"} 1",
                "pangu:num_preemptions_total", "pangu:prefix_cache_queries_total", "pangu:prefix_cache_hits_total",
                "pangu:time_to_first_token_seconds_bucket", "pangu:inter_token_latency_seconds_count",
                "pangu:e2e_request_latency_seconds_sum", "pangu:request_queue_time_seconds",
                "pangu:request_prefill_time_seconds", "pangu:request_decode_time_seconds",
                "pangu:request_prompt_tokens", "pangu:request_generation_tokens_count{model_name=\"tiny-pangu\"} 1",
                "pangu:iteration_tokens_total", "pangu:cache_config_info{model_name=\"tiny-pangu\",block_size=\"4\"",
                "cache_dtype=\"f16\"} 1",
                "pangu:http_requests_total{method=\"POST\",route=\"/v1/completions\",status=\"200\"} 1",
                "pangu:device_num_requests_running{model_name=\"tiny-pangu\",device=\"cpu0\"}",
                "pangu:device_num_requests_waiting", "pangu:device_kv_cache_usage_perc",
            ]
            // The HTTP metrics hook runs after the response is sent: poll until the scrape shows it.
            var text = ""
            for _ in 0..<100 {
                let response = try await fixture.send("GET", "/metrics")
                #expect(response.status == 200)
                text = response.text
                if names.allSatisfy(text.contains) { break }
                try await Task.sleep(for: .milliseconds(20))
            }
            for name in names { #expect(text.contains(name), "\(name)") }
        }
    }

    @Test("A client that disconnects mid-stream aborts its request and its blocks are freed")
    func disconnectAborts() async throws {
        // 10 ms a step: the 480 tokens take seconds, so the disconnect lands mid-stream even on a loaded machine.
        try await withFixture(stepDelay: .milliseconds(10)) { fixture in
            let port = fixture.port
            let body: [String: Any] = [
                "model": "tiny-pangu", "prompt": "Tell me a long story", "max_tokens": 480, "ignore_eos": true,
                "stream": true,
            ]
            let json = String(decoding: try JSONSerialization.data(withJSONObject: body), as: UTF8.self)
            let sawEvent = try await offPool {
                let client = try TestClient(port: port, timeoutSeconds: 20)
                try client.send(
                    "POST /v1/completions HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
                        + "Content-Length: \(json.utf8.count)\r\n\r\n" + json)
                let (status, _) = try client.readHead()
                while !String(decoding: client.buffer, as: UTF8.self).contains("data: ") { client.fill() }
                client.disconnect()
                return status == 200
            }
            #expect(sawEvent)
            let stats = try await fixture.waitUntilIdle()
            #expect(stats.numFinishedByReason[.abort] == 1)
            #expect(stats.numFinishedByReason[.length] == nil)
            #expect(stats.numFreeBlocks == stats.numBlocksTotal)
            #expect(stats.numRunning == 0)
        }
    }

    @Test(
        "A client that disconnects before a non-streamed answer aborts its request, frees its blocks, and is no warning"
    )
    func disconnectBeforeAnswer() async throws {
        let lines = Mutex<[String]>([])
        try await withFixture(logSink: { line in lines.withLock { $0.append(line) } }) { fixture in
            let port = fixture.port
            let body: [String: Any] = [
                "model": "tiny-pangu", "prompt": "Tell me a long story", "max_tokens": 480, "ignore_eos": true,
            ]
            let json = String(decoding: try JSONSerialization.data(withJSONObject: body), as: UTF8.self)
            let engine = fixture.engine
            try await offPool {
                let client = try TestClient(port: port, timeoutSeconds: 20)
                try client.send(
                    "POST /v1/completions HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
                        + "Content-Length: \(json.utf8.count)\r\n\r\n" + json)
                for _ in 0..<10000 where engine.combinedStats.numRunning + engine.combinedStats.numWaiting == 0 {
                    usleep(1000)
                }
                client.disconnect()
            }
            let stats = try await fixture.waitUntilIdle()
            #expect(stats.numFinishedByReason[.abort] == 1)
            #expect(stats.numFreeBlocks == stats.numBlocksTotal)
        }
        let logged = lines.withLock { $0 }
        #expect(logged.contains { $0.contains("generation aborted") }, "\(logged)")
        #expect(!logged.contains { $0.contains("warning") }, "\(logged)")
    }
}
