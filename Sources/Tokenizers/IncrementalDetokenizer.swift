/// Turns a growing list of generated ids into text deltas for streaming.
///
/// Emits only complete UTF-8 text: a delta is held back while the decoded tail
/// ends in U+FFFD (an incomplete byte sequence from byte-fallback pieces).
/// Decodes a short window of ids (from `prefixOffset`) each time, so that
/// tokenizers that strip a leading space per decode call still join correctly;
/// the same technique as Hugging Face TGI and vLLM. Deltas are cut by Unicode
/// scalars, not by `Character`s, so a combining mark or a ZWJ that joins the
/// previous delta's last character into one grapheme is never lost: the
/// concatenated deltas equal a decode of all ids at once.
public struct IncrementalDetokenizer: Sendable {
    private let tokenizer: any Tokenizer
    private let skipSpecialTokens: Bool
    /// All ids seen so far (context ids first, then generated ids).
    public private(set) var ids: [Int]
    private var prefixOffset: Int
    private var readOffset: Int
    /// The full text emitted so far.
    public private(set) var text = ""

    /// `contextIDs` are ids already shown (e.g. the prompt's last few), used
    /// only so the first generated token decodes with its proper spacing.
    public init(tokenizer: any Tokenizer, contextIDs: [Int] = [], skipSpecialTokens: Bool = true) {
        self.tokenizer = tokenizer
        self.skipSpecialTokens = skipSpecialTokens
        let context = Array(contextIDs.suffix(6))
        self.ids = context
        self.prefixOffset = 0
        self.readOffset = context.count
    }

    /// Appends ids and returns the newly completed text (possibly empty).
    public mutating func append(_ newIDs: [Int]) -> String {
        ids.append(contentsOf: newIDs)
        return emit(isFinal: false)
    }

    /// Text still held back at the end of generation (an incomplete character
    /// becomes U+FFFD, as a whole decode would produce).
    public mutating func flush() -> String { emit(isFinal: true) }

    private mutating func emit(isFinal: Bool) -> String {
        guard readOffset < ids.count else { return "" }
        let prefixText = tokenizer.decode(Array(ids[prefixOffset..<readOffset]), skipSpecialTokens: skipSpecialTokens)
        let fullText = tokenizer.decode(Array(ids[prefixOffset...]), skipSpecialTokens: skipSpecialTokens)
        if !isFinal && fullText.unicodeScalars.last == "\u{FFFD}" { return "" }
        let prefixScalars = Array(prefixText.unicodeScalars)
        let fullScalars = Array(fullText.unicodeScalars)
        var common = 0
        while common < prefixScalars.count && common < fullScalars.count
            && prefixScalars[common] == fullScalars[common]
        {
            common += 1
        }
        var delta = String.UnicodeScalarView()
        delta.append(contentsOf: fullScalars[common...])
        prefixOffset = readOffset
        readOffset = ids.count
        let deltaText = String(delta)
        text += deltaText
        return deltaText
    }
}
