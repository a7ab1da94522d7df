import Foundation
import Testing

@testable import Tokenizers

@Suite("Incremental detokenizer")
struct IncrementalDetokenizerTests {
    /// Streams `ids` one at a time; returns the deltas and the final flush.
    static func stream(_ ids: [Int], tokenizer: any Tokenizer) -> [String] {
        var detokenizer = IncrementalDetokenizer(tokenizer: tokenizer)
        var deltas = ids.map { detokenizer.append([$0]) }
        deltas.append(detokenizer.flush())
        #expect(detokenizer.text == deltas.joined())
        return deltas
    }

    @Test(
        "streaming every cases.json case id by id rebuilds the full decode without mid-character U+FFFD",
        .enabled(if: SharedData.isAvailable))
    func streamsSentencePieceCases() throws {
        let tokenizer = try SentencePieceTokenizerTests.llama2()
        for testCase in try SentencePieceCase.loadAll() {
            let deltas = Self.stream(testCase.ids, tokenizer: tokenizer)
            let full = tokenizer.decode(testCase.ids, skipSpecialTokens: true)
            #expect(deltas.joined() == full, "\(testCase.name)")
            #expect(deltas.joined().unicodeScalars.elementsEqual(full.unicodeScalars), "\(testCase.name)")
            if !full.contains("\u{FFFD}") {
                #expect(!deltas.contains { $0.contains("\u{FFFD}") }, "\(testCase.name)")
            }
        }
    }

    @Test(
        "streaming byte-level ids holds back split UTF-8 and rebuilds the input", .enabled(if: SharedData.isAvailable))
    func streamsByteLevelVectors() throws {
        let tokenizer = try GGUFVocabularyTests.gpt2Vocab()
        let vectors = try VocabVectors(vocab: "ggml-vocab-gpt-2")
        for (index, ids) in vectors.expected.enumerated() {
            let deltas = Self.stream(ids, tokenizer: tokenizer)
            #expect(deltas.joined().unicodeScalars.elementsEqual(vectors.inputs[index].unicodeScalars), "case \(index)")
            #expect(!deltas.contains { $0.contains("\u{FFFD}") }, "case \(index)")
        }
    }

    @Test("the first generated token keeps its space after prompt context ids", .enabled(if: SharedData.isAvailable))
    func contextKeepsLeadingSpace() throws {
        let tokenizer = try SentencePieceTokenizerTests.llama2()
        var detokenizer = IncrementalDetokenizer(tokenizer: tokenizer, contextIDs: [1, 15043])  // <s> ▁Hello
        #expect(detokenizer.append([3186]) == " world")
        #expect(detokenizer.flush() == "")
    }

    @Test("an incomplete byte sequence at the end is flushed as U+FFFD", .enabled(if: SharedData.isAvailable))
    func flushesIncompleteBytes() throws {
        let tokenizer = try SentencePieceTokenizerTests.llama2()
        var detokenizer = IncrementalDetokenizer(tokenizer: tokenizer)
        #expect(detokenizer.append([29871, 243, 162]) == "")  // ▁ + two of the four bytes of 🦙
        #expect(detokenizer.flush() == "\u{FFFD}")
    }
}
