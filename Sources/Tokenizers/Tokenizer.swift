/// Text ⇄ token ids for one model; the API tokenizes prompts with it and the
/// engine detokenizes outputs with it.
///
/// Implementations: SentencePiece (`tokenizer.model`), byte-level BPE
/// (`tokenizer.json`) and GGUF vocabularies. All are immutable after loading
/// and safe to share between threads.
public protocol Tokenizer: Sendable {
    /// Number of ids (the embedding rows the model needs at least).
    var vocabSize: Int { get }
    /// Beginning-of-sequence id, if the vocabulary has one.
    var bosTokenID: Int? { get }
    /// End-of-sequence id, if the vocabulary has one.
    var eosTokenID: Int? { get }
    /// Whether `encode(_:addSpecialTokens:)` prepends BOS (from the tokenizer config).
    var addsBOS: Bool { get }

    /// Encodes text. With `addSpecialTokens`, BOS is prepended when `addsBOS`.
    /// With `parseSpecial`, special-token text declared by the tokenizer (e.g. `<s>`,
    /// `[unused9]`) becomes that single id; otherwise it is tokenized as plain text.
    func encode(_ text: String, addSpecialTokens: Bool, parseSpecial: Bool) -> [Int]

    /// Decodes ids to text; with `skipSpecialTokens`, control/special tokens are left out.
    /// Invalid UTF-8 from byte pieces becomes U+FFFD.
    func decode(_ ids: [Int], skipSpecialTokens: Bool) -> String

    /// The vocabulary piece of an id (e.g. `▁Hello`, `<0x0A>`), nil when out of range.
    func piece(for id: Int) -> String?

    /// The id of a piece, nil when the vocabulary has no such piece.
    func id(forPiece piece: String) -> Int?

    /// Whether the id is a control/special token (skipped by `skipSpecialTokens`).
    func isSpecial(_ id: Int) -> Bool
}

extension Tokenizer {
    /// Encodes with special tokens added and parsed: what a prompt needs.
    public func encode(_ text: String) -> [Int] {
        encode(text, addSpecialTokens: true, parseSpecial: true)
    }

    /// Decodes skipping special tokens: what a completion returns.
    public func decode(_ ids: [Int]) -> String { decode(ids, skipSpecialTokens: true) }
}
