/// Tokenizer for sentencepiece BPE models (`tokenizer.model`, GGUF `llama`
/// vocabularies): Llama 2 and openPangu checkpoints.
///
/// Encoding follows the `sentencepiece` library: identity normalisation with an
/// optional dummy-prefix space and spaces escaped to `▁` (U+2581); the whole
/// normalised string is split into characters (user-defined pieces kept whole),
/// then adjacent symbols are merged by highest piece score, ties to the left
/// (`BPEMerger`); symbols without a piece become `<0xNN>` byte pieces when the
/// model has byte fallback, else `<unk>`. Decoding maps `▁` back to spaces,
/// joins byte pieces into UTF-8 and drops one leading space for the dummy prefix.
///
/// Special tokens: with `parseSpecial`, CONTROL/UNKNOWN pieces (`<s>`, `</s>`,
/// `<unk>`) and tokens declared in `tokenizer_config.json` are cut out of the raw
/// text first; only the text run at the very start of the input gets the dummy
/// prefix. USER_DEFINED pieces are matched inside BPE whatever `parseSpecial`
/// says, as sentencepiece and llama.cpp do.
/// Immutable after construction.
public struct SentencePieceTokenizer: Tokenizer {
    let model: SentencePieceModel
    /// Pieces that take part in merges (NORMAL, USER_DEFINED, UNUSED) by text.
    let mergeableIDs: ByteStringTable
    /// Every piece by text (for `id(forPiece:)`).
    let allIDs: ByteStringTable
    /// Ids of `<0x00>`...`<0xFF>`, -1 where the vocabulary lacks one.
    let byteIDs: [Int]
    /// Byte value of each BYTE piece, -1 for other ids.
    let byteValues: [Int16]
    let maxPieceBytes: Int
    /// Piece scores by id (merge priority).
    let scores: [Float]
    /// Whether BPE may run word by word (see `encodeSegment`).
    let splitsAtWordStarts: Bool
    /// Always matched in the normalised text (user-defined pieces).
    let userDefinedMatcher: TokenMatcher
    /// Matched in raw text when parsing special tokens: CONTROL and UNKNOWN pieces
    /// and config-declared tokens (user-defined pieces are matched during BPE).
    let specialMatcher: TokenMatcher
    /// Tokens from `tokenizer_config.json` whose ids lie beyond the model's pieces.
    let extraTokens: [Int: AddedToken]
    /// Ids left out by `skipSpecialTokens` beyond the CONTROL pieces.
    let extraSpecialIDs: Set<Int>

    public let vocabSize: Int
    public let bosTokenID: Int?
    public let eosTokenID: Int?
    public let addsBOS: Bool

    /// - Parameters:
    ///   - addedTokens: tokens declared by `tokenizer_config.json` (`added_tokens_decoder`).
    ///   - bosTokenID/eosTokenID: overrides of the model's ids (nil keeps the model's).
    @_optimize(speed)
    public init(
        model: SentencePieceModel, addsBOS: Bool = true, addedTokens: [AddedToken] = [],
        bosTokenID: Int? = nil, eosTokenID: Int? = nil
    ) {
        self.model = model
        var mergeableTexts = Array(repeating: "", count: model.pieces.count)
        var byteIDs = Array(repeating: -1, count: 256)
        var byteValues = Array(repeating: Int16(-1), count: model.pieces.count)
        var maxPieceBytes = 1
        var userDefined: [(content: String, id: Int)] = []
        var special: [(content: String, id: Int)] = []
        for (id, piece) in model.pieces.enumerated() {
            switch piece.type {
            case .normal, .userDefined, .unused:
                mergeableTexts[id] = piece.text
                maxPieceBytes = max(maxPieceBytes, piece.text.utf8.count)
            case .byte:
                if let value = Self.byteValue(ofPiece: piece.text) {
                    byteIDs[Int(value)] = id
                    byteValues[id] = Int16(value)
                }
            case .control, .unknown:
                break
            }
            if piece.type == .userDefined { userDefined.append((piece.text, id)) }
            if piece.type == .control || piece.type == .unknown { special.append((piece.text, id)) }
        }
        var extraTokens: [Int: AddedToken] = [:]
        var extraSpecialIDs: Set<Int> = []
        for token in addedTokens {
            // User-defined pieces are always matched inside BPE, as sentencepiece does.
            let isUserDefinedPiece = token.id < model.pieces.count && model.pieces[token.id].type == .userDefined
            if !isUserDefinedPiece { special.append((token.content, token.id)) }
            if token.id >= model.pieces.count { extraTokens[token.id] = token }
            if token.isSpecial { extraSpecialIDs.insert(token.id) }
        }
        self.scores = model.pieces.map(\.score)
        self.splitsAtWordStarts = Self.noPieceSpansWordStart(mergeableTexts)
        self.mergeableIDs = ByteStringTable(mergeableTexts)
        self.allIDs = ByteStringTable(model.pieces.map(\.text))
        self.byteIDs = byteIDs
        self.byteValues = byteValues
        self.maxPieceBytes = maxPieceBytes
        self.userDefinedMatcher = TokenMatcher(tokens: userDefined)
        self.specialMatcher = TokenMatcher(tokens: special)
        self.extraTokens = extraTokens
        self.extraSpecialIDs = extraSpecialIDs
        self.vocabSize = max(model.pieces.count, (extraTokens.keys.max() ?? -1) + 1)
        let modelBOS = model.bosID >= 0 && model.bosID < model.pieces.count ? model.bosID : nil
        let modelEOS = model.eosID >= 0 && model.eosID < model.pieces.count ? model.eosID : nil
        self.bosTokenID = bosTokenID ?? modelBOS
        self.eosTokenID = eosTokenID ?? modelEOS
        self.addsBOS = addsBOS && self.bosTokenID != nil
    }

    /// The byte of a `<0xNN>` piece.
    static func byteValue(ofPiece text: String) -> UInt8? {
        let utf8 = Array(text.utf8)
        guard utf8.count == 6, utf8[0] == UInt8(ascii: "<"), utf8[1] == UInt8(ascii: "0"),
            utf8[2] == UInt8(ascii: "x"), utf8[5] == UInt8(ascii: ">")
        else { return nil }
        return UInt8(String(decoding: utf8[3..<5], as: UTF8.self), radix: 16)
    }

    public func encode(_ text: String, addSpecialTokens: Bool, parseSpecial: Bool) -> [Int] {
        var ids: [Int] = []
        if addSpecialTokens && addsBOS, let bos = bosTokenID { ids.append(bos) }
        let bytes = Array(text.utf8)
        guard parseSpecial else {
            encodeSegment(bytes[...], isStartOfInput: true, into: &ids)
            return ids
        }
        for segment in specialMatcher.split(bytes) {
            switch segment {
            case .token(let id): ids.append(id)
            case .text(let range): encodeSegment(bytes[range], isStartOfInput: range.lowerBound == 0, into: &ids)
            }
        }
        return ids
    }

    public func piece(for id: Int) -> String? {
        if id >= 0 && id < model.pieces.count { return model.pieces[id].text }
        return extraTokens[id]?.content
    }

    public func id(forPiece piece: String) -> Int? {
        allIDs.lookup(piece) ?? extraTokens.values.first { $0.content.utf8.elementsEqual(piece.utf8) }?.id
    }

    public func isSpecial(_ id: Int) -> Bool {
        if extraSpecialIDs.contains(id) { return true }
        return id >= 0 && id < model.pieces.count && model.pieces[id].type == .control
    }
}
