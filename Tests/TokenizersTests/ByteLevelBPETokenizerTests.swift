import Foundation
import Testing

@testable import Tokenizers

@Suite("Byte-level BPE from tokenizer.json")
struct ByteLevelBPETokenizerTests {
    /// The 256 byte characters (ids 0...255), then merged pieces from 256 on.
    static let mergedPieces = ["He", "ll", "Hell", "Hello", "Ġw", "or", "Ġwor", "ld", "Ġworld"]
    static let mergeRules = ["H e", "l l", "He ll", "Hell o", "Ġ w", "o r", "Ġw or", "l d", "Ġwor ld"]
    static let endOfText = 265

    /// A small GPT-2-style tokenizer.json written by hand.
    static func tokenizerJSON(preTokenizer: String, mergesAsPairs: Bool = false, nfc: Bool = false) throws -> String {
        var vocab: [String: Int] = [:]
        for (byte, scalar) in ByteLevelBPETokenizer.byteAlphabet().enumerated() { vocab[String(scalar)] = byte }
        for (offset, piece) in mergedPieces.enumerated() { vocab[piece] = 256 + offset }
        let merges: [Any] =
            mergesAsPairs ? mergeRules.map { $0.split(separator: " ").map(String.init) } : mergeRules
        let object: [String: Any] = [
            "version": "1.0",
            "added_tokens": [["id": endOfText, "content": "<|endoftext|>", "special": true]],
            "normalizer": nfc ? ["type": "NFC"] as Any : NSNull(),
            "pre_tokenizer": try JSONSerialization.jsonObject(with: Data(preTokenizer.utf8)),
            "post_processor": ["type": "ByteLevel", "trim_offsets": false],
            "decoder": ["type": "ByteLevel"],
            "model": ["type": "BPE", "vocab": vocab, "merges": merges, "unk_token": NSNull()],
        ]
        let data = try JSONSerialization.data(withJSONObject: object)
        return String(decoding: data, as: UTF8.self)
    }

    static func load(
        preTokenizer: String, config: String? = nil, mergesAsPairs: Bool = false, nfc: Bool = false
    ) throws -> any Tokenizer {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tok-json-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try tokenizerJSON(preTokenizer: preTokenizer, mergesAsPairs: mergesAsPairs, nfc: nfc)
            .write(to: directory.appendingPathComponent("tokenizer.json"), atomically: true, encoding: .utf8)
        if let config {
            try config.write(
                to: directory.appendingPathComponent("tokenizer_config.json"), atomically: true, encoding: .utf8)
        }
        return try TokenizerLoader.load(directory: directory)
    }

    static let gpt2PreTokenizer =
        #"{"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true}"#

    @Test("tokenizer.json vocab and merges encode words by merge rank")
    func encodesByMergeRank() throws {
        let tokenizer = try Self.load(preTokenizer: Self.gpt2PreTokenizer)
        #expect(tokenizer is ByteLevelBPETokenizer)
        #expect(tokenizer.vocabSize == 266 && !tokenizer.addsBOS)
        #expect(tokenizer.encode("Hello world") == [259, 264])
        // "lll": the leftmost "l l" merges first, leaving the last "l" alone.
        let l = Int(UInt8(ascii: "l"))
        #expect(tokenizer.encode("lll") == [257, l])
        #expect(tokenizer.decode([259, 264]) == "Hello world")
        #expect(tokenizer.piece(for: 264) == "Ġworld" && tokenizer.id(forPiece: "Ġworld") == 264)
    }

    @Test("merges written as pairs load like merges written as strings")
    func mergePairs() throws {
        let tokenizer = try Self.load(preTokenizer: Self.gpt2PreTokenizer, mergesAsPairs: true)
        #expect(tokenizer.encode("Hello world") == [259, 264])
    }

    @Test("bytes outside ASCII go through the byte alphabet and decode back")
    func byteAlphabetRoundTrip() throws {
        let tokenizer = try Self.load(preTokenizer: Self.gpt2PreTokenizer)
        let text = "hé 🦙\n\tx"
        let ids = tokenizer.encode(text, addSpecialTokens: false, parseSpecial: false)
        #expect(ids.count == text.utf8.count)
        #expect(tokenizer.decode(ids) == text)
    }

    @Test("an NFC normalizer composes characters before byte-level encoding")
    func nfcNormalizer() throws {
        let composed = try Self.load(preTokenizer: Self.gpt2PreTokenizer, nfc: true)
        let ids = composed.encode("e\u{301}", addSpecialTokens: false, parseSpecial: false)
        #expect(ids == [0xC3, 0xA9])  // the UTF-8 of "é"; byte b's character has id b here
        let plain = try Self.load(preTokenizer: Self.gpt2PreTokenizer)
        #expect(plain.encode("e\u{301}", addSpecialTokens: false, parseSpecial: false).count == 3)
    }

    @Test("added special tokens are single ids only when parsing special tokens")
    func addedSpecialTokens() throws {
        let tokenizer = try Self.load(preTokenizer: Self.gpt2PreTokenizer)
        #expect(
            tokenizer.encode("Hello<|endoftext|>", addSpecialTokens: false, parseSpecial: true) == [
                259, Self.endOfText,
            ])
        let plain = tokenizer.encode("Hello<|endoftext|>", addSpecialTokens: false, parseSpecial: false)
        #expect(!plain.contains(Self.endOfText) && plain.first == 259)
        #expect(tokenizer.isSpecial(Self.endOfText) && !tokenizer.isSpecial(259))
        #expect(tokenizer.decode([259, Self.endOfText]) == "Hello")
        #expect(tokenizer.decode([259, Self.endOfText], skipSpecialTokens: false) == "Hello<|endoftext|>")
    }

    @Test("tokenizer_config.json sets BOS and EOS by token text")
    func configBOS() throws {
        let config = #"{"add_bos_token": true, "bos_token": "<|endoftext|>", "eos_token": "<|endoftext|>"}"#
        let tokenizer = try Self.load(preTokenizer: Self.gpt2PreTokenizer, config: config)
        #expect(tokenizer.addsBOS && tokenizer.bosTokenID == Self.endOfText && tokenizer.eosTokenID == Self.endOfText)
        #expect(tokenizer.encode("Hello") == [Self.endOfText, 259])
    }

    @Test("a Llama-3 Split regex selects the Llama-3 pre-tokenizer")
    func llama3Split() throws {
        let pattern =
            #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#
        #expect(HFTokenizerJSON.preTokenizer(forPattern: pattern) == .llama3)
        let escaped = pattern.replacingOccurrences(of: "\\", with: "\\\\")
        let preTokenizer = """
            {"type": "Sequence", "pretokenizers": [
              {"type": "Split", "pattern": {"Regex": "\(escaped)"}, "behavior": "Isolated", "invert": false},
              {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": false}]}
            """
        let tokenizer = try #require(try Self.load(preTokenizer: preTokenizer) as? ByteLevelBPETokenizer)
        #expect(tokenizer.preTokenizer == .llama3)
        #expect(tokenizer.encode("Hello world") == [259, 264])
    }

    @Test("an unknown split regex is rejected with the file named")
    func unknownRegex() throws {
        let preTokenizer =
            #"{"type": "Sequence", "pretokenizers": [{"type": "Split", "pattern": {"Regex": "\\w+"}}, {"type": "ByteLevel"}]}"#
        #expect(throws: TokenizerError.self) { try Self.load(preTokenizer: preTokenizer) }
    }
}
