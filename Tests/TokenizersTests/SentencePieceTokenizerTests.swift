import Foundation
import Testing

@testable import Tokenizers

@Suite("SentencePiece tokenizer (Llama 2 tokenizer.model)")
struct SentencePieceTokenizerTests {
    /// Loaded once for all tests.
    private static let sharedLlama2: Result<SentencePieceTokenizer, any Error> = Result {
        SentencePieceTokenizer(
            model: try SentencePieceModel.load(contentsOf: SharedData.url("llama2-spm/tokenizer.model")))
    }

    static func llama2() throws -> SentencePieceTokenizer { try sharedLlama2.get() }

    @Test("the model proto is read with the settings sentencepiece reports", .enabled(if: SharedData.isAvailable))
    func readsModelSettings() throws {
        let model = try SentencePieceModel.load(contentsOf: SharedData.url("llama2-spm/tokenizer.model"))
        #expect(model.pieces.count == 32000)
        #expect(model.modelType == .bpe)
        #expect(model.byteFallback && model.splitDigits)
        #expect(model.addDummyPrefix && !model.removeExtraWhitespaces && model.escapeWhitespaces)
        #expect(model.unkID == 0 && model.bosID == 1 && model.eosID == 2 && model.padID == -1)
        #expect(model.pieces[1].type == .control && model.pieces[0].type == .unknown)
        #expect(model.pieces[3].text == "<0x00>" && model.pieces[3].type == .byte)
        #expect(model.numPrecompiledCharsmapBytes == 0)
        #expect(try Self.llama2().splitsAtWordStarts)
    }

    @Test(
        "every cases.json case encodes to sentencepiece's ids and decodes to its text",
        .enabled(if: SharedData.isAvailable))
    func reproducesCases() throws {
        let tokenizer = try Self.llama2()
        let cases = try SentencePieceCase.loadAll()
        #expect(cases.count == 83)
        var numPassed = 0
        for testCase in cases {
            let ids = tokenizer.encode(testCase.input, addSpecialTokens: false, parseSpecial: false)
            #expect(ids == testCase.ids, "\(testCase.name)")
            let decoded = tokenizer.decode(testCase.ids, skipSpecialTokens: true)
            #expect(decoded == testCase.decoded, "\(testCase.name)")
            if ids == testCase.ids && decoded == testCase.decoded { numPassed += 1 }
        }
        print("sentencepiece cases passed: \(numPassed)/\(cases.count)")
    }
}
