import Foundation
import Testing

@testable import Tokenizers

@Suite("GGUF vocabularies against llama.cpp's test vectors")
struct GGUFVocabularyTests {
    private static let gpt2Tokenizer: Result<any Tokenizer, any Error> = Result {
        try TokenizerLoader.load(gguf: SharedData.url("ggml-vocab-gpt-2.gguf"))
    }

    /// The GPT-2 vocabulary, loaded once for all tests.
    static func gpt2Vocab() throws -> any Tokenizer { try gpt2Tokenizer.get() }

    static func check(vocab name: String, tokenizer: any Tokenizer) throws -> (numPassed: Int, numCases: Int) {
        let vectors = try VocabVectors(vocab: name)
        #expect(vectors.inputs.count == 46)
        #expect(vectors.expected.count == vectors.inputs.count)
        var numPassed = 0
        for (index, input) in vectors.inputs.enumerated() where index < vectors.expected.count {
            let ids = tokenizer.encode(input, addSpecialTokens: false, parseSpecial: false)
            #expect(ids == vectors.expected[index], "\(name) case \(index): \(input.debugDescription)")
            if ids == vectors.expected[index] { numPassed += 1 }
        }
        print("\(name): \(numPassed)/\(vectors.inputs.count) vectors pass")
        return (numPassed, vectors.inputs.count)
    }

    @Test(
        "llama-spm vectors are reproduced by the sentencepiece tokenizer built from GGUF",
        .enabled(if: SharedData.isAvailable))
    func llamaSPM() throws {
        let tokenizer = try TokenizerLoader.load(gguf: SharedData.url("ggml-vocab-llama-spm.gguf"))
        #expect(tokenizer is SentencePieceTokenizer)
        #expect(tokenizer.vocabSize == 32000 && tokenizer.bosTokenID == 1 && tokenizer.eosTokenID == 2)
        #expect(tokenizer.addsBOS)
        let result = try Self.check(vocab: "ggml-vocab-llama-spm", tokenizer: tokenizer)
        #expect(result.numPassed == result.numCases)
    }

    @Test("gpt-2 vectors are reproduced by byte-level BPE with the GPT-2 split", .enabled(if: SharedData.isAvailable))
    func gpt2() throws {
        let tokenizer = try Self.gpt2Vocab()
        #expect(tokenizer is ByteLevelBPETokenizer)
        #expect(tokenizer.vocabSize == 50257 && tokenizer.bosTokenID == 50256 && tokenizer.eosTokenID == 50256)
        let result = try Self.check(vocab: "ggml-vocab-gpt-2", tokenizer: tokenizer)
        #expect(result.numPassed == result.numCases)
    }

    @Test("qwen2 vectors are reproduced by byte-level BPE with the Qwen2 split", .enabled(if: SharedData.isAvailable))
    func qwen2() throws {
        let tokenizer = try TokenizerLoader.load(gguf: SharedData.url("ggml-vocab-qwen2.gguf"))
        #expect(tokenizer.vocabSize == 151936 && tokenizer.bosTokenID == 151643 && tokenizer.eosTokenID == 151643)
        #expect(!tokenizer.addsBOS)
        let result = try Self.check(vocab: "ggml-vocab-qwen2", tokenizer: tokenizer)
        #expect(result.numPassed == result.numCases)
    }
}
