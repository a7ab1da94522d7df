/// One token id with its log-probability, as reported to clients.
public struct TokenLogprob: Sendable, Hashable {
    public var tokenID: Int
    /// Natural log of the token's probability; -infinity for a token that cannot occur.
    public var logprob: Float

    public init(tokenID: Int, logprob: Float) {
        self.tokenID = tokenID
        self.logprob = logprob
    }
}
