/// A token that is matched in text as one unit before BPE runs: a special token
/// such as `<s>` or `[unused9]`, or a user-defined / added piece.
///
/// `isSpecial` tokens are matched only when the caller asks to parse special
/// tokens and are left out by `skipSpecialTokens`; the others are always matched.
public struct AddedToken: Sendable, Equatable {
    public var id: Int
    public var content: String
    public var isSpecial: Bool

    public init(id: Int, content: String, isSpecial: Bool) {
        self.id = id
        self.content = content
        self.isSpecial = isSpecial
    }
}
