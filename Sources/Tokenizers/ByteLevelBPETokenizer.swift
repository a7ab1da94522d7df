import Foundation

/// Tokenizer for byte-level BPE vocabularies (GPT-2, Llama 3, Qwen2): Hugging Face
/// `tokenizer.json` files with a ByteLevel pre-tokenizer, and GGUF `gpt2` vocabularies.
///
/// Encoding: added tokens are split out first (special ones only when parsing
/// special tokens), the rest is cut into words by the `PreTokenizer` regex, each
/// word's UTF-8 bytes are mapped to GPT-2's printable byte alphabet and merged by
/// merge rank (lowest first, ties to the left) with `BPEMerger`. Decoding maps the
/// alphabet back to bytes. Immutable after construction.
public struct ByteLevelBPETokenizer: Tokenizer {
    /// Piece text of every id (GPT-2 alphabet; added tokens as written).
    let pieces: [String]
    let vocab: ByteStringTable
    let merges: MergeTable
    /// Id of the one-character piece of each byte, -1 if the vocabulary lacks it.
    let byteIDs: [Int]
    /// UTF-8 of each byte's GPT-2 alphabet character.
    let byteSymbols: [[UInt8]]
    /// Byte value of each alphabet scalar (indexed by scalar value), -1 elsewhere.
    let symbolBytes: [Int16]
    let preTokenizer: PreTokenizer
    /// Hugging Face `ignore_merges`: a word that is itself a piece is not merged.
    let ignoreMerges: Bool
    let normalizeNFC: Bool
    let addPrefixSpace: Bool
    let alwaysMatcher: TokenMatcher
    let specialMatcher: TokenMatcher
    /// Added tokens by id: decoded verbatim rather than through the byte alphabet.
    let addedTokens: [Int: AddedToken]
    let unkTokenID: Int?

    public let vocabSize: Int
    public let bosTokenID: Int?
    public let eosTokenID: Int?
    public let addsBOS: Bool

    /// Options of a byte-level BPE tokenizer beyond its vocabulary.
    public struct Options: Sendable {
        public var preTokenizer: PreTokenizer = .gpt2
        public var ignoreMerges = false
        public var normalizeNFC = false
        public var addPrefixSpace = false
        public var addsBOS = false
        public var bosTokenID: Int?
        public var eosTokenID: Int?
        public var unkTokenID: Int?

        public init() {}
    }

    /// - Parameters:
    ///   - pieces: the vocabulary, piece text by id.
    ///   - merges: merge rules in rank order, each as its two pieces.
    ///   - addedTokens: tokens matched as whole units in text.
    public init(pieces: [String], merges: [(String, String)], addedTokens: [AddedToken], options: Options) {
        let pieces = Self.pieces(pieces, with: addedTokens)
        let vocab = ByteStringTable(pieces)
        var mergeTable = MergeTable(capacity: merges.count)
        for (rank, merge) in merges.enumerated() {
            guard let left = vocab.lookup(merge.0), let right = vocab.lookup(merge.1),
                let merged = vocab.lookup(merge.0 + merge.1)
            else { continue }
            mergeTable.insert(left: left, right: right, rank: rank, merged: merged)
        }
        self.init(pieces: pieces, vocab: vocab, merges: mergeTable, addedTokens: addedTokens, options: options)
    }

    /// The vocabulary extended so that every added token's id holds a piece.
    static func pieces(_ pieces: [String], with addedTokens: [AddedToken]) -> [String] {
        var pieces = pieces
        for token in addedTokens where token.id >= 0 {
            if token.id >= pieces.count {
                pieces.append(contentsOf: Array(repeating: "", count: token.id + 1 - pieces.count))
            }
            if pieces[token.id].isEmpty { pieces[token.id] = token.content }
        }
        return pieces
    }

    /// `pieces` must already include the added tokens (see `pieces(_:with:)`) and
    /// `vocab` must be built from them.
    init(pieces: [String], vocab: ByteStringTable, merges: MergeTable, addedTokens: [AddedToken], options: Options) {
        var byAddedID: [Int: AddedToken] = [:]
        for token in addedTokens { byAddedID[token.id] = token }
        let alphabet = Self.byteAlphabet()
        var symbolBytes = Array(repeating: Int16(-1), count: 0x200)
        for (byte, scalar) in alphabet.enumerated() { symbolBytes[Int(scalar.value)] = Int16(byte) }
        let byteSymbols = alphabet.map { Array(String($0).utf8) }
        self.pieces = pieces
        self.vocab = vocab
        self.merges = merges
        self.byteSymbols = byteSymbols
        self.byteIDs = byteSymbols.map { vocab.lookup($0) ?? -1 }
        self.symbolBytes = symbolBytes
        self.preTokenizer = options.preTokenizer
        self.ignoreMerges = options.ignoreMerges
        self.normalizeNFC = options.normalizeNFC
        self.addPrefixSpace = options.addPrefixSpace
        self.alwaysMatcher = TokenMatcher(tokens: addedTokens.filter { !$0.isSpecial }.map { ($0.content, $0.id) })
        self.specialMatcher = TokenMatcher(tokens: addedTokens.map { ($0.content, $0.id) })
        self.addedTokens = byAddedID
        self.unkTokenID = options.unkTokenID
        self.vocabSize = pieces.count
        self.bosTokenID = options.bosTokenID
        self.eosTokenID = options.eosTokenID
        self.addsBOS = options.addsBOS && options.bosTokenID != nil
    }

    /// GPT-2's reversible map from bytes to printable characters: printable
    /// Latin-1 bytes map to themselves, the other bytes to U+0100 onwards in order.
    static func byteAlphabet() -> [Unicode.Scalar] {
        var alphabet: [Unicode.Scalar] = []
        var next: UInt32 = 0x100
        for byte in UInt32(0)...255 {
            let printable = (0x21...0x7E).contains(byte) || (0xA1...0xAC).contains(byte) || (0xAE...0xFF).contains(byte)
            if printable {
                alphabet.append(Unicode.Scalar(byte) ?? " ")
            } else {
                alphabet.append(Unicode.Scalar(next) ?? " ")
                next += 1
            }
        }
        return alphabet
    }

    public func piece(for id: Int) -> String? { id >= 0 && id < pieces.count ? pieces[id] : nil }

    public func id(forPiece piece: String) -> Int? { vocab.lookup(piece) }

    public func isSpecial(_ id: Int) -> Bool { addedTokens[id]?.isSpecial ?? false }

    public func decode(_ ids: [Int], skipSpecialTokens: Bool) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(ids.count * 4)
        for id in ids where id >= 0 && id < pieces.count {
            if let added = addedTokens[id] {
                if !(skipSpecialTokens && added.isSpecial) { bytes.append(contentsOf: added.content.utf8) }
                continue
            }
            for scalar in pieces[id].unicodeScalars {
                let value = Int(scalar.value)
                if value < symbolBytes.count && symbolBytes[value] >= 0 {
                    bytes.append(UInt8(symbolBytes[value]))
                } else {
                    bytes.append(contentsOf: String(scalar).utf8)
                }
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
