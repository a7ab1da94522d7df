/// Draft tokens for speculative decoding by prompt lookup (n-gram matching; Saxena, "Prompt Lookup
/// Decoding", 2023; vLLM's `ngram` method): the last `n` tokens of a request are looked up earlier in its
/// own prompt and output, longest `n` first, and the tokens that followed the latest match are proposed.
///
/// Costs no model: a draft is only as good as the text repeats itself (code edits, quoting, summaries,
/// loops), and a request whose text does not repeat gets no drafts, so it pays nothing.
struct NgramProposer: Sendable {
    /// Most tokens proposed per step.
    let numSpeculativeTokens: Int
    /// Shortest and longest suffix looked up.
    let minN: Int
    let maxN: Int

    /// Up to `numSpeculativeTokens` (and at most `limit`) tokens predicted to follow `tokens`; empty when
    /// no suffix of `minN...maxN` tokens occurred before. The continuation repeats with the distance
    /// between the match and the suffix as its period, so a match close to the end (a loop) still
    /// proposes the full number.
    func propose(_ tokens: [Int], limit: Int) -> [Int] {
        let count = tokens.count
        let numWanted = min(numSpeculativeTokens, limit)
        guard numWanted > 0 else { return [] }
        for n in stride(from: min(maxN, count - 1), through: minN, by: -1) {
            let suffixStart = count - n
            // Latest earlier occurrence: start at `start`, ending before the suffix itself starts.
            var start = suffixStart - 1
            while start >= 0 {
                if tokens[start] == tokens[suffixStart] && tokens[start..<start + n] == tokens[suffixStart...] {
                    let period = suffixStart - start
                    var draft: [Int] = []
                    for i in 0..<numWanted {
                        draft.append(i < period ? tokens[count - period + i] : draft[i - period])
                    }
                    return draft
                }
                start -= 1
            }
        }
        return []
    }
}
