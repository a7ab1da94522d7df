import Foundation
import Testing

@testable import Tokenizers

/// Tiny hand-made models that pin down the BPE rules independently of shared data.
@Suite("SentencePiece BPE rules on hand-made models")
struct SentencePieceAlgorithmTests {
    /// <unk> <s> </s> ▁ a b aa ▁a <sep> ab ba [unused] bab.
    static func model(byteFallback: Bool = false, addDummyPrefix: Bool = false) -> SentencePieceModel {
        var model = SentencePieceModel()
        model.modelType = .bpe
        model.byteFallback = byteFallback
        model.addDummyPrefix = addDummyPrefix
        model.removeExtraWhitespaces = false
        let pieces: [(String, Float, SentencePieceModel.PieceType)] = [
            ("<unk>", 0, .unknown), ("<s>", 0, .control), ("</s>", 0, .control), ("▁", -1, .normal),
            ("a", -2, .normal), ("b", -3, .normal), ("aa", -0.5, .normal), ("▁a", -0.2, .normal),
            ("<sep>", 0, .userDefined), ("ab", -0.4, .normal), ("ba", -0.6, .normal), ("bab", -0.1, .unused),
        ]
        model.pieces = pieces.map { SentencePieceModel.Piece(text: $0.0, score: $0.1, type: $0.2) }
        return model
    }

    static func encode(_ text: String, _ model: SentencePieceModel = model()) -> [Int] {
        SentencePieceTokenizer(model: model).encode(text, addSpecialTokens: false, parseSpecial: false)
    }

    @Test("equal scores merge the leftmost pair first")
    func leftmostTie() {
        #expect(Self.encode("aaa") == [6, 4])
        #expect(Self.encode("aaaa") == [6, 6])
    }

    @Test("the pair whose merged piece scores highest merges first")
    func highestScore() {
        #expect(Self.encode("aab") == [4, 9])  // "ab" (-0.4) beats "aa" (-0.5)
    }

    @Test("user-defined pieces stay whole even without parseSpecial")
    func userDefined() {
        #expect(Self.encode("a<sep>b") == [4, 8, 5])
    }

    @Test("a user-defined piece at the input's start follows the dummy prefix, with or without parseSpecial")
    func userDefinedAtStart() {
        let tokenizer = SentencePieceTokenizer(model: Self.model(addDummyPrefix: true))
        #expect(tokenizer.encode("<sep>b", addSpecialTokens: false, parseSpecial: false) == [3, 8, 5])
        #expect(tokenizer.encode("<sep>b", addSpecialTokens: false, parseSpecial: true) == [3, 8, 5])
        #expect(tokenizer.encode("<s>b", addSpecialTokens: false, parseSpecial: true) == [1, 5])
        #expect(!tokenizer.isSpecial(8) && tokenizer.isSpecial(1))
    }

    @Test("a run of unknown characters becomes one <unk> without byte fallback")
    func unknownRun() {
        #expect(Self.encode("axyb") == [4, 0, 5])
        #expect(SentencePieceTokenizer(model: Self.model()).decode([4, 0, 5]) == "a \u{2047} b")
    }

    @Test("an UNUSED piece produced by merging is split back into smaller pieces")
    func unusedResegmented() {
        // "bab" merges (via "ab" then "b"+"ab") into the unused "bab", which is resegmented.
        let ids = Self.encode("bab")
        #expect(!ids.contains(11))
        #expect(SentencePieceTokenizer(model: Self.model()).decode(ids) == "bab")
    }

    @Test("byte fallback emits the UTF-8 bytes of characters without a piece")
    func byteFallback() {
        var model = Self.model(byteFallback: true)
        let first = model.pieces.count
        for byte in 0..<256 {
            model.pieces.append(.init(text: String(format: "<0x%02X>", byte), score: 0, type: .byte))
        }
        let tokenizer = SentencePieceTokenizer(model: model)
        #expect(
            tokenizer.encode("aé", addSpecialTokens: false, parseSpecial: false) == [4, first + 0xC3, first + 0xA9])
        #expect(tokenizer.decode([4, first + 0xC3, first + 0xA9]) == "aé")
    }

    @Test("the dummy prefix joins the first word and is removed again by decoding")
    func dummyPrefix() {
        let model = Self.model(addDummyPrefix: true)
        #expect(Self.encode("a", model) == [7])
        #expect(Self.encode("", model) == [])
        #expect(Self.encode("a a", model) == [7, 7])
        #expect(SentencePieceTokenizer(model: model).decode([7, 7]) == "a a")
    }

    @Test("a piece that ends in ▁ turns off word-by-word merging and still merges across the space")
    func pieceAcrossWordStart() {
        var model = Self.model()
        model.pieces.append(.init(text: "a▁", score: 5, type: .normal))
        let tokenizer = SentencePieceTokenizer(model: model)
        #expect(!tokenizer.splitsAtWordStarts)
        #expect(tokenizer.encode("a a", addSpecialTokens: false, parseSpecial: false) == [12, 4])
        #expect(SentencePieceTokenizer(model: Self.model()).splitsAtWordStarts)
    }

    @Test("a serialized ModelProto is decoded field by field")
    func parsesProto() throws {
        var proto = ProtoWriter()
        for (text, score, type) in [("<unk>", Float(0), 2), ("<s>", 0, 3), ("▁a", -1.5, 1)] {
            var piece = ProtoWriter()
            piece.string(1, text)
            piece.float(2, score)
            piece.varint(3, UInt64(type))
            proto.message(1, piece)
        }
        var trainer = ProtoWriter()
        trainer.varint(3, 2)
        trainer.varint(35, 1)
        trainer.varint(25, 1)
        trainer.varint(43, UInt64(bitPattern: -1))
        trainer.string(2, "ignored prefix")
        proto.message(2, trainer)
        var normalizer = ProtoWriter()
        normalizer.string(1, "identity")
        normalizer.varint(3, 0)
        normalizer.varint(4, 0)
        proto.message(3, normalizer)
        let model = try SentencePieceModel(protobuf: proto.bytes, path: "test.model")
        #expect(model.pieces.map(\.text) == ["<unk>", "<s>", "▁a"])
        #expect(model.pieces[2].score == -1.5 && model.pieces[1].type == .control)
        #expect(model.modelType == .bpe && model.byteFallback && model.splitDigits && model.padID == -1)
        #expect(!model.addDummyPrefix && !model.removeExtraWhitespaces && model.escapeWhitespaces)
        let error = #expect(throws: TokenizerError.self) {
            try SentencePieceModel(protobuf: Array(proto.bytes.dropLast()), path: "test.model")
        }
        guard case .truncatedFile(let path, _) = error else {
            Issue.record("expected truncatedFile, got \(String(describing: error))")
            return
        }
        #expect(path == "test.model")
    }
}

/// Minimal protobuf encoder for building test models.
struct ProtoWriter {
    var bytes: [UInt8] = []

    mutating func rawVarint(_ value: UInt64) {
        var value = value
        while value >= 0x80 {
            bytes.append(UInt8(value & 0x7F) | 0x80)
            value >>= 7
        }
        bytes.append(UInt8(value))
    }

    mutating func varint(_ field: Int, _ value: UInt64) {
        rawVarint(UInt64(field << 3))
        rawVarint(value)
    }

    mutating func float(_ field: Int, _ value: Float) {
        rawVarint(UInt64(field << 3 | 5))
        withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes.append(contentsOf: $0) }
    }

    mutating func string(_ field: Int, _ value: String) {
        rawVarint(UInt64(field << 3 | 2))
        rawVarint(UInt64(value.utf8.count))
        bytes.append(contentsOf: value.utf8)
    }

    mutating func message(_ field: Int, _ value: ProtoWriter) {
        rawVarint(UInt64(field << 3 | 2))
        rawVarint(UInt64(value.bytes.count))
        bytes.append(contentsOf: value.bytes)
    }
}
