import Tokenizers

/// A tokenizer over a fixed piece list: id i decodes to `pieces[i]`; ids in `specialIDs` are special.
/// Default vocabulary: 0 = `<s>`, 1 = `</s>` (both special), 2...27 = "a"..."z", 28...63 two letters.
struct FakeTokenizer: Tokenizer {
    let pieces: [String]
    let specialIDs: Set<Int>

    init(pieces: [String]? = nil, specialIDs: Set<Int> = [0, 1]) {
        if let pieces {
            self.pieces = pieces
        } else {
            let letters = (0..<26).map { String(UnicodeScalar(UInt8(97 + $0))) }
            self.pieces = ["<s>", "</s>"] + letters + (28..<64).map { letters[$0 % 26] + letters[($0 * 7) % 26] }
        }
        self.specialIDs = specialIDs
    }

    var vocabSize: Int { pieces.count }
    var bosTokenID: Int? { 0 }
    var eosTokenID: Int? { 1 }
    var addsBOS: Bool { false }

    func encode(_ text: String, addSpecialTokens: Bool, parseSpecial: Bool) -> [Int] {
        text.unicodeScalars.compactMap { scalar in pieces.firstIndex(of: String(scalar)) }
    }

    func decode(_ ids: [Int], skipSpecialTokens: Bool) -> String {
        ids.map { id in
            guard id >= 0 && id < pieces.count else { return "\u{FFFD}" }
            return skipSpecialTokens && specialIDs.contains(id) ? "" : pieces[id]
        }.joined()
    }

    func piece(for id: Int) -> String? { id >= 0 && id < pieces.count ? pieces[id] : nil }
    func id(forPiece piece: String) -> Int? { pieces.firstIndex(of: piece) }
    func isSpecial(_ id: Int) -> Bool { specialIDs.contains(id) }
}
