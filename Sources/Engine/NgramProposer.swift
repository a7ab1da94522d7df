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

/// How many drafts one request gets, adapted to how its drafts fared: a verified draft costs a forward
/// pass over more rows whether or not it is accepted (on a CPU, 4 rows cost about 1.5 single-row steps,
/// 8 rows about 3), so a request whose text stops repeating must stop paying for drafts.
///
/// After a draft fully accepted the limit grows by one (up to the configured number); after a partial
/// acceptance it becomes the accepted count plus one; after a draft fully rejected it halves, and the
/// request skips drafting for 1, 2, 4 … 16 steps on consecutive rejections, so a text with no useful
/// repetition drafts at most once every 16 steps.
struct DraftAllowance: Sendable {
    let maxDrafts: Int
    private(set) var limit: Int
    private var skipSteps = 0
    private var numRejectedInARow = 0

    init(maxDrafts: Int) {
        self.maxDrafts = maxDrafts
        limit = maxDrafts
    }

    /// Drafts allowed this step (0 while backing off); call once per decode step of the request.
    mutating func next() -> Int {
        guard skipSteps == 0 else {
            skipSteps -= 1
            return 0
        }
        return limit
    }

    /// Records a verification: `accepted` of `proposed` drafts stood.
    mutating func record(proposed: Int, accepted: Int) {
        guard proposed > 0 else { return }
        if accepted == 0 {
            numRejectedInARow += 1
            skipSteps = min(16, 1 << (numRejectedInARow - 1))
            limit = max(1, limit / 2)
        } else {
            numRejectedInARow = 0
            limit = min(maxDrafts, accepted == proposed ? limit + 1 : accepted + 1)
        }
    }
}
