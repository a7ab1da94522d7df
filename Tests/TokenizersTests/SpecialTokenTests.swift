import Foundation
import Testing

@testable import Tokenizers

@Suite("Special tokens and the checkpoint-directory loader")
struct SpecialTokenTests {
    private static let sharedTinyPangu: Result<any Tokenizer, any Error> = Result {
        try TokenizerLoader.load(directory: SharedData.root.appendingPathComponent("models/tiny-pangu-embedded"))
    }

    static func tinyPangu() throws -> any Tokenizer { try sharedTinyPangu.get() }

    @Test(
        "an openPangu directory loads tokenizer.model with tokenizer_config.json's BOS rule",
        .enabled(if: SharedData.isAvailable))
    func loadsPanguDirectory() throws {
        let tokenizer = try Self.tinyPangu()
        #expect(tokenizer is SentencePieceTokenizer)
        #expect(tokenizer.vocabSize == 32000 && tokenizer.bosTokenID == 1 && tokenizer.eosTokenID == 2)
        #expect(tokenizer.addsBOS)
        #expect(tokenizer.encode("Hello world") == [1, 15043, 3186])
        #expect(tokenizer.encode("Hello world", addSpecialTokens: false, parseSpecial: true) == [15043, 3186])
        #expect(tokenizer.piece(for: 15043) == "▁Hello" && tokenizer.id(forPiece: "▁Hello") == 15043)
        #expect(tokenizer.piece(for: 32000) == nil && tokenizer.id(forPiece: "no such piece") == nil)
        #expect(tokenizer.isSpecial(1) && tokenizer.isSpecial(2) && !tokenizer.isSpecial(15043))
    }

    @Test(
        "with parseSpecial <s> and </s> become single ids and only the input's start gets the dummy prefix",
        .enabled(if: SharedData.isAvailable))
    func parsesControlTokens() throws {
        let tokenizer = try Self.tinyPangu()
        let hello = try #require(tokenizer.id(forPiece: "Hello"))
        let world = try #require(tokenizer.id(forPiece: "world"))
        #expect(tokenizer.encode("<s>Hello</s>", addSpecialTokens: false, parseSpecial: true) == [1, hello, 2])
        #expect(tokenizer.encode("Hello<s>world", addSpecialTokens: false, parseSpecial: true) == [15043, 1, world])
        #expect(tokenizer.encode("<s>", addSpecialTokens: true, parseSpecial: true) == [1, 1])
    }

    @Test("without parseSpecial special-token text is tokenized as plain text", .enabled(if: SharedData.isAvailable))
    func plainSpecialText() throws {
        let tokenizer = try Self.tinyPangu()
        let ids = tokenizer.encode("<s>Hi</s>", addSpecialTokens: false, parseSpecial: false)
        #expect(!ids.contains(1) && !ids.contains(2))
        #expect(ids.first == 529)  // ▁<
        #expect(tokenizer.decode(ids, skipSpecialTokens: true) == "<s>Hi</s>")
    }

    @Test("decoding skips control tokens or shows their text", .enabled(if: SharedData.isAvailable))
    func decodesControlTokens() throws {
        let tokenizer = try Self.tinyPangu()
        #expect(tokenizer.decode([1, 15043, 3186, 2]) == "Hello world")
        #expect(tokenizer.decode([1, 15043, 2], skipSpecialTokens: false) == "<s>Hello</s>")
        #expect(tokenizer.decode([0], skipSpecialTokens: true) == " \u{2047} ")
        #expect(tokenizer.decode([99_999, -1, 15043]) == "Hello")
    }

    @Test(
        "added_tokens_decoder tokens beyond the model are parsed, decoded and skipped",
        .enabled(if: SharedData.isAvailable))
    func addedTokensFromConfig() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tok-added-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try FileManager.default.createSymbolicLink(
            at: directory.appendingPathComponent("tokenizer.model"),
            withDestinationURL: SharedData.url("llama2-spm/tokenizer.model"))
        let config = """
            {"add_bos_token": false, "bos_token": {"content": "<s>", "special": true}, "eos_token": "[unused10]",
             "added_tokens_decoder": {"32000": {"content": "[unused9]", "special": true},
                                      "32001": {"content": "[unused10]", "special": true}}}
            """
        try config.write(
            to: directory.appendingPathComponent("tokenizer_config.json"), atomically: true, encoding: .utf8)
        let tokenizer = try TokenizerLoader.load(directory: directory)
        #expect(tokenizer.vocabSize == 32002 && !tokenizer.addsBOS)
        #expect(tokenizer.bosTokenID == 1 && tokenizer.eosTokenID == 32001)
        let ids = tokenizer.encode("[unused9]Hello world[unused10]")
        let hello = try #require(tokenizer.id(forPiece: "Hello"))
        #expect(ids == [32000, hello, 3186, 32001])
        #expect(tokenizer.isSpecial(32000) && tokenizer.piece(for: 32000) == "[unused9]")
        #expect(tokenizer.decode(ids) == "Hello world")
        #expect(tokenizer.decode(ids, skipSpecialTokens: false) == "[unused9]Hello world[unused10]")
        #expect(!tokenizer.encode("[unused9]", addSpecialTokens: false, parseSpecial: false).contains(32000))
    }

    @Test("a directory without tokenizer files is a TokenizerError naming it")
    func missingTokenizer() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tok-empty-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        #expect(throws: TokenizerError.noTokenizerFile(directory: directory.path)) {
            try TokenizerLoader.load(directory: directory)
        }
    }
}
