import Sampling
import Testing

@testable import Engine

@Suite struct StopConditionTests {
    // 0 <s>, 1 </s>, then text pieces.
    static let pieces = ["<s>", "</s>", "he", "l", "lo", " w", "or", "ld", "x", "!", "é", "STOP"]
    static let tokenizer = FakeTokenizer(pieces: pieces)

    /// Runs one scripted request to completion and returns its joined outputs.
    func run(
        _ script: [Int], stop: [String] = [], include: Bool = false, sampling: SamplingParams = params(maxTokens: 20),
        maxModelLen: Int = 256
    ) throws -> Completion {
        let (core, worker) = try makeCore(makeConfig(maxModelLen: maxModelLen), tokenizer: Self.tokenizer)
        worker.scripts["r"] = script
        try core.add(
            EngineRequest(
                requestID: "r", promptTokenIDs: [8], samplingParams: sampling, stop: stop,
                includeStopStrInOutput: include))
        return try #require(collect(core.runUntilIdle())["r"])
    }

    @Test("text is cut before a stop string that spans tokens, and no delta shows part of it")
    func stopStringAcrossTokens() throws {
        let completion = try run([2, 3, 4, 5, 6, 7], stop: ["lo wor"])
        #expect(completion.text == "hel")
        #expect(completion.deltas.joined() == "hel")
        #expect(completion.finishReason == .stop)
        #expect(completion.stopReason == .stopString("lo wor"))
        #expect(completion.tokenIDs == [2, 3, 4, 5, 6])
    }

    @Test("the stop string is kept when includeStopStrInOutput")
    func includeStopString() throws {
        let completion = try run([2, 3, 4, 5, 6, 7], stop: ["lo wor"], include: true)
        #expect(completion.text == "hello wor")
    }

    @Test("held-back text that does not become a stop string is released")
    func falseAlarmReleased() throws {
        let completion = try run([2, 4, 8, 9, 1], stop: ["lo w"])
        #expect(completion.text == "helox!")
        #expect(completion.deltas == ["he", "", "lox", "!", ""])
        #expect(completion.stopReason == .eos(tokenID: 1))
    }

    @Test("held-back text is flushed when generation ends for another reason")
    func flushedAtLength() throws {
        let completion = try run([2, 4], stop: ["lo w"], sampling: params(maxTokens: 2))
        #expect(completion.text == "helo")
        #expect(completion.finishReason == .length)
    }

    @Test("the earliest of several stop strings wins")
    func earliestStop() throws {
        let completion = try run([2, 3, 4, 5, 6], stop: ["or", "ll"])
        #expect(completion.text == "he")
        #expect(completion.stopReason == .stopString("ll"))
    }

    @Test("EOS stops, but not before minTokens, and not with ignoreEOS")
    func eosRules() throws {
        #expect(try run([2, 1, 3]).tokenIDs == [2, 1])
        #expect(try run([2, 1, 3, 1], sampling: params(maxTokens: 9, minTokens: 2)).tokenIDs == [2, 1, 3, 1])
        let ignoring = try run([1, 1, 1], sampling: params(maxTokens: 3, ignoreEOS: true))
        #expect(ignoring.tokenIDs == [1, 1, 1] && ignoring.finishReason == .length)
    }

    @Test("stop token ids, maxTokens and maxModelLen end generation")
    func tokenLimits() throws {
        let stopped = try run([2, 9, 3], sampling: params(maxTokens: 9, stopTokenIDs: [9]))
        #expect(stopped.tokenIDs == [2, 9] && stopped.stopReason == .stopTokenID(9) && stopped.text == "he!")
        #expect(try run([2, 3, 4, 5], sampling: params(maxTokens: 3)).tokenIDs == [2, 3, 4])
        let capped = try run([2, 3, 4, 5], sampling: params(maxTokens: 9), maxModelLen: 3)
        #expect(capped.tokenIDs == [2, 3] && capped.finishReason == .length)
    }
}

@Suite struct AdmissionTests {
    @Test("the waiting queue refuses requests beyond its count and token limits")
    func queueFull() throws {
        var config = makeConfig()
        config.maxNumWaitingRequests = 2
        config.maxNumWaitingTokens = 10
        let (core, _) = try makeCore(config)
        try core.add(EngineRequest(requestID: "a", promptTokenIDs: [2, 3]))
        try core.add(EngineRequest(requestID: "b", promptTokenIDs: [2, 3]))
        #expect(throws: EngineError.queueFull(numWaitingRequests: 2, numWaitingTokens: 4)) {
            try core.add(EngineRequest(requestID: "c", promptTokenIDs: [2]))
        }
        _ = core.step()  // both admitted: the queue is empty again
        #expect(throws: EngineError.queueFull(numWaitingRequests: 0, numWaitingTokens: 0)) {
            try core.add(EngineRequest(requestID: "d", promptTokenIDs: Array(repeating: 2, count: 11)))
        }
        try core.add(EngineRequest(requestID: "e", promptTokenIDs: Array(repeating: 2, count: 10)))
    }

    @Test("a prompt leaving no room for one token is refused")
    func promptTooLong() throws {
        let (core, _) = try makeCore(makeConfig(maxModelLen: 16))
        #expect(throws: EngineError.promptTooLong(numTokens: 16, maxModelLen: 16)) {
            try core.add(EngineRequest(requestID: "a", promptTokenIDs: Array(repeating: 2, count: 16)))
        }
        try core.add(EngineRequest(requestID: "b", promptTokenIDs: Array(repeating: 2, count: 15)))
        #expect(throws: EngineError.duplicateRequestID("b")) {
            try core.add(EngineRequest(requestID: "b", promptTokenIDs: [2]))
        }
        #expect(throws: EngineError.emptyPrompt(requestID: "c")) {
            try core.add(EngineRequest(requestID: "c", promptTokenIDs: []))
        }
    }

    @Test("maxModelLen is capped by the KV cache size")
    func cappedByCache() throws {
        let (core, _) = try makeCore(makeConfig(numBlocks: 2, blockSize: 4, maxModelLen: 100))
        #expect(throws: EngineError.promptTooLong(numTokens: 8, maxModelLen: 8)) {
            try core.add(EngineRequest(requestID: "a", promptTokenIDs: Array(repeating: 2, count: 8)))
        }
    }
}

@Suite struct StopStringPropertyTests {
    static let pieces = ["<s>", "</s>", "a", "b", "ab", "ba", "c", "abc", " ", "é", "bé"]

    /// The text an uninterrupted decode shows, cut at the first stop string to appear (earliest start among
    /// those present when the first one completes), or the whole text.
    func reference(_ script: [Int], stops: [String], tokenizer: FakeTokenizer) -> String {
        let scalarsOf = { (text: String) in Array(text.unicodeScalars) }
        for count in 1...script.count {
            let text = scalarsOf(tokenizer.decode(Array(script.prefix(count))))
            var best: Int?
            for stop in stops.map(scalarsOf) where text.count >= stop.count {
                for start in 0...(text.count - stop.count) where Array(text[start..<start + stop.count]) == stop {
                    best = min(best ?? start, start)
                    break
                }
            }
            if let best {
                var view = String.UnicodeScalarView()
                view.append(contentsOf: text[..<best])
                return String(view)
            }
        }
        return tokenizer.decode(script)
    }

    @Test("random scripts and stop strings: the streamed deltas join to the reference text")
    func randomStopStrings() throws {
        let tokenizer = FakeTokenizer(pieces: Self.pieces)
        var rng = TestRNG(state: 11)
        for round in 0..<300 {
            let script = (0..<Int.random(in: 1...12, using: &rng)).map { _ in
                Int.random(in: 2..<Self.pieces.count, using: &rng)
            }
            let stops = (0..<Int.random(in: 1...3, using: &rng)).map { _ in
                String((0..<Int.random(in: 1...4, using: &rng)).map { _ in "abcé ".randomElement(using: &rng) ?? "a" })
            }
            let (core, worker) = try makeCore(makeConfig(), tokenizer: tokenizer)
            worker.scripts["r\(round)"] = script
            try core.add(
                EngineRequest(
                    requestID: "r\(round)", promptTokenIDs: [2],
                    samplingParams: params(maxTokens: script.count, ignoreEOS: true), stop: stops))
            let completion = try #require(collect(core.runUntilIdle())["r\(round)"])
            #expect(completion.text == reference(script, stops: stops, tokenizer: tokenizer), "\(script) \(stops)")
        }
    }
}
