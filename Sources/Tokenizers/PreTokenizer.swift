/// The regex split that byte-level BPE applies before merging, written as a
/// hand scanner over Unicode scalars (no regex engine, no lookahead support needed).
///
/// Each kind reproduces one published pattern with leftmost-first alternation:
/// - `gpt2`: `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`
/// - `llama3`: `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|
///   ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
/// - `qwen2`: as `llama3` with `\p{N}` (single digits).
/// `\s` is Unicode White_Space, `\p{L}` letters (Lu Ll Lt Lm Lo), `\p{N}` numbers (Nd Nl No).
public enum PreTokenizer: String, Sendable {
    case gpt2
    case llama3
    case qwen2

    /// Splits scalars into consecutive word ranges covering the whole input.
    func split(_ scalars: [Unicode.Scalar]) -> [Range<Int>] {
        var words: [Range<Int>] = []
        let scanner = PreTokenizerScanner(scalars: scalars, kind: self)
        var start = 0
        while start < scalars.count {
            let end = scanner.matchEnd(at: start)
            words.append(start..<end)
            start = end
        }
        return words
    }
}

/// Character classes and the per-position match of `PreTokenizer`.
private struct PreTokenizerScanner {
    enum CharClass { case letter, number, whitespace, other }

    let scalars: [Unicode.Scalar]
    let kind: PreTokenizer
    let classes: [CharClass]

    init(scalars: [Unicode.Scalar], kind: PreTokenizer) {
        self.scalars = scalars
        self.kind = kind
        self.classes = scalars.map(Self.classify)
    }

    static func classify(_ scalar: Unicode.Scalar) -> CharClass {
        if scalar.value < 0x80 {
            switch scalar.value {
            case 0x41...0x5A, 0x61...0x7A: return .letter
            case 0x30...0x39: return .number
            case 0x09...0x0D, 0x20: return .whitespace
            default: return .other
            }
        }
        if scalar.properties.isWhitespace { return .whitespace }
        switch scalar.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return .letter
        case .decimalNumber, .letterNumber, .otherNumber: return .number
        default: return .other
        }
    }

    func isNewline(_ index: Int) -> Bool { scalars[index] == "\n" || scalars[index] == "\r" }

    /// End (exclusive) of the run of `charClass` starting at `index`.
    func runEnd(_ index: Int, _ charClass: CharClass, limit: Int = Int.max) -> Int {
        var end = index
        while end < classes.count && classes[end] == charClass && end - index < limit { end += 1 }
        return end
    }

    /// Length of a contraction (`'s`, `'re`, ...) at `index`, 0 if none.
    func contractionLength(at index: Int) -> Int {
        guard scalars[index] == "'", index + 1 < scalars.count else { return 0 }
        let caseInsensitive = kind != .gpt2
        func letter(_ offset: Int) -> Character? {
            guard index + offset < scalars.count else { return nil }
            let character = Character(scalars[index + offset])
            return caseInsensitive ? Character(character.lowercased()) : character
        }
        switch letter(1) {
        case "s", "t", "m", "d": return 2
        case "r", "v": return letter(2) == "e" ? 3 : 0
        case "l": return letter(2) == "l" ? 3 : 0
        default: return 0
        }
    }

    func matchEnd(at index: Int) -> Int {
        let length = contractionLength(at: index)
        if length > 0 { return index + length }
        return kind == .gpt2 ? gpt2MatchEnd(at: index) : llama3MatchEnd(at: index)
    }

    private func gpt2MatchEnd(at index: Int) -> Int {
        let afterSpace = scalars[index] == " " && index + 1 < scalars.count ? index + 1 : index
        let charClass = classes[afterSpace]
        if charClass != .whitespace { return runEnd(afterSpace, charClass) }
        return whitespaceMatchEnd(at: index)
    }

    private func llama3MatchEnd(at index: Int) -> Int {
        let charClass = classes[index]
        // [^\r\n\p{L}\p{N}]?\p{L}+
        if charClass == .letter { return runEnd(index, .letter) }
        if charClass != .number && !isNewline(index) && index + 1 < classes.count && classes[index + 1] == .letter {
            return runEnd(index + 1, .letter)
        }
        // \p{N} or \p{N}{1,3}
        if charClass == .number { return runEnd(index, .number, limit: kind == .qwen2 ? 1 : 3) }
        // ' ?[^\s\p{L}\p{N}]+[\r\n]*'
        let afterSpace = scalars[index] == " " && index + 1 < scalars.count ? index + 1 : index
        if classes[afterSpace] == .other {
            var end = runEnd(afterSpace, .other)
            while end < scalars.count && isNewline(end) { end += 1 }
            return end
        }
        // \s*[\r\n]+ : up to and including the last newline of the whitespace run.
        let whitespaceEnd = runEnd(index, .whitespace)
        var lastNewline = -1
        for position in index..<whitespaceEnd where isNewline(position) { lastNewline = position }
        if lastNewline >= 0 { return lastNewline + 1 }
        return whitespaceMatchEnd(at: index)
    }

    /// `\s+(?!\S)|\s+`: a whitespace run, leaving its last character to the next
    /// word when a non-space follows.
    private func whitespaceMatchEnd(at index: Int) -> Int {
        let end = runEnd(index, .whitespace)
        if end == scalars.count || end - index == 1 { return end }
        return end - 1
    }
}
