/// The distribution a random (non-greedy) draw samples from: processed logits
/// scaled by temperature, then cut by top-k, top-p and min-p, in vLLM's order.
///
/// Weights are `exp((logit - maxLogit) / temperature)` (`VectorMath.exp`), so the
/// best token weighs exactly 1 and nothing overflows; probabilities are weights
/// over `total`.
/// - top-k keeps the `k` best-ranked tokens (`TokenRanking`'s order).
/// - top-p keeps the smallest best-first prefix whose probability reaches `topP`
///   (a token stays if the tokens ranked before it sum to less than `topP`),
///   computed after top-k's renormalisation (Holtzman et al., "The Curious Case
///   of Neural Text Degeneration", 2020).
/// - min-p drops tokens whose probability is below `minP` × the best token's
///   (Nguyen et al., "Turning Up the Heat: Min-p Sampling", 2024).
/// Without top-k or top-p nothing is sorted (`Support.dense`): one vectorised pass
/// fills the weights, the draw walks them.
struct FilteredDistribution {
    /// Tokens that may be drawn.
    enum Support: Equatable {
        /// One certain token (all other weights are zero, or logits are infinite).
        case single(Int)
        /// A weight for every token id (zero for the dropped ones).
        case dense(weights: [Float])
        /// These ids, best first, with their weights.
        case ranked(ids: [Int32], weights: [Float])
    }

    let support: Support
    /// Sum of the weights in `support`; > 0 unless `.single`. (Summed in vector lanes, so
    /// the draw's running sum may end a rounding error away; `draw` handles both sides.)
    let total: Double

    init(logits: UnsafeBufferPointer<Float>, temperature: Float, topK: Int, topP: Float, minP: Float) {
        precondition(temperature > 0, "a random draw needs a positive temperature")
        let maxLogit = VectorMath.maxKey(logits)
        guard maxLogit.isFinite else {
            (support, total) = (.single(TokenRanking.argmax(logits)), 0)
            return
        }
        let invTemperature = 1 / temperature
        let support: Support
        if (topK > 0 && topK < logits.count) || topP < 1 {
            support = Self.rankedSupport(logits, maxLogit, invTemperature, topK: topK, topP: topP, minP: minP)
        } else {
            var weights = [Float](repeating: 0, count: logits.count)
            weights.withUnsafeMutableBufferPointer {
                VectorMath.fillWeights(logits, maxLogit: maxLogit, invTemperature: invTemperature, into: $0)
            }
            if minP > 0 {
                for i in weights.indices where weights[i] < minP { weights[i] = 0 }
            }
            support = .dense(weights: weights)
        }
        let total = Self.sum(of: support)
        (self.support, self.total) = total > 0 ? (support, total) : (.single(TokenRanking.argmax(logits)), 0)
    }

    /// The kept tokens when top-k or top-p is on: best first, cut by top-k, top-p, min-p.
    private static func rankedSupport(
        _ logits: UnsafeBufferPointer<Float>, _ maxLogit: Float, _ invTemperature: Float,
        topK: Int, topP: Float, minP: Float
    ) -> Support {
        var ids: [Int32]
        var weights: [Float]
        var total: Double
        if topK > 0 && topK < logits.count {
            ids = TokenRanking.top(topK, of: logits)
            weights = ids.map { VectorMath.exp((logits[Int($0)] - maxLogit) * invTemperature) }
            total = weights.withUnsafeBufferPointer(VectorMath.sum)
        } else {
            (ids, weights, total) = nucleusCandidates(logits, maxLogit, invTemperature, topP: topP)
        }
        var numKept = topP < 1 ? nucleusSize(weights, total: total, topP: topP) : weights.count
        // min-p (and zero weights): weights are best first and weights[0] == 1, so the kept set is a prefix.
        while numKept > 1 && (weights[numKept - 1] < minP || weights[numKept - 1] == 0) { numKept -= 1 }
        ids.removeSubrange(numKept...)
        weights.removeSubrange(numKept...)
        return .ranked(ids: ids, weights: weights)
    }

    private static func sum(of support: Support) -> Double {
        switch support {
        case .single: return 0
        case .dense(let weights), .ranked(_, let weights): return weights.withUnsafeBufferPointer(VectorMath.sum)
        }
    }

    /// The token at cumulative probability `u` in [0, 1) (inverse transform sampling).
    func draw(_ u: Double) -> Int {
        let target = u * total
        switch support {
        case .single(let id):
            return id
        case .ranked(let ids, let weights):
            return Int(ids[Self.index(atCumulative: target, weights)])
        case .dense(let weights):
            return Self.index(atCumulative: target, weights)
        }
    }

    /// First index whose cumulative weight exceeds `target`; the last positive one if rounding runs out.
    private static func index(atCumulative target: Double, _ weights: [Float]) -> Int {
        var cumulative = 0.0
        var lastPositive = 0
        for (i, w) in weights.enumerated() where w > 0 {
            cumulative += Double(w)
            lastPositive = i
            if cumulative > target { return i }
        }
        return lastPositive
    }

    /// Every drawable token with its probability (for tests and diagnostics; O(V)).
    func probabilities() -> [Int: Double] {
        var result: [Int: Double] = [:]
        switch support {
        case .single(let id):
            result[id] = 1
        case .ranked(let ids, let weights):
            for (id, w) in zip(ids, weights) { result[Int(id)] = Double(w) / total }
        case .dense(let weights):
            for (i, w) in weights.enumerated() where w > 0 { result[i] = Double(w) / total }
        }
        return result
    }

    /// Number of best-first entries of `weights` in the top-p nucleus (at least 1).
    static func nucleusSize(_ weights: [Float], total: Double, topP: Float) -> Int {
        let mass = Double(topP) * total
        var cumulative = 0.0
        for (i, w) in weights.enumerated() {
            if cumulative >= mass { return max(i, 1) }
            cumulative += Double(w)
        }
        return max(weights.count, 1)
    }
}
