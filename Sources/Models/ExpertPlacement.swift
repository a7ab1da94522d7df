import Synchronization

/// Expert parallelism for a Mixture-of-Grouped-Experts model: which card of
/// an expert-parallel group holds each routed expert, and the per-card load
/// (token rows routed to the card's experts) of every step. The MoE forward
/// partitions its expert computation by card through this hook and combines
/// the cards' results.
///
/// Placement: the G contiguous expert groups are spread evenly, card c holds
/// groups c·G/N ..< (c+1)·G/N, so with MoGE (one expert per group per token)
/// every token sends exactly G/N rows to each card and the load is balanced
/// by construction. Invariant: N divides G. Thread-safe (`Sendable`): the
/// model's thread records, metrics read snapshots from anywhere.
public final class ExpertPlacement: Sendable {
    public let numExperts: Int
    public let numGroups: Int
    public let numCards: Int
    private let state = Mutex(LoadState())

    /// Per-card token counts: the step in progress, the last finished step, totals.
    struct LoadState {
        var current: [Int] = []
        var lastStep: [Int] = []
        var total: [Int] = []
        var numSteps = 0
        var maxImbalance = 1.0
    }

    /// A point-in-time copy of the per-card expert load.
    public struct LoadSnapshot: Sendable, Equatable {
        /// Token rows routed to each card's experts over all steps and MoE layers.
        public var numTokensTotal: [Int]
        /// Token rows routed to each card's experts in the last finished step (all MoE layers).
        public var numTokensLastStep: [Int]
        /// Finished steps with routed tokens.
        public var numSteps: Int
        /// Largest per-step max/mean ratio seen (1 = perfectly balanced; 1 before any step).
        public var maxImbalanceRatio: Double

        /// max/mean of the totals; 1 when nothing was routed.
        public var imbalanceRatio: Double { ExpertPlacement.imbalance(numTokensTotal) }
    }

    /// Throws nothing: misuse (N not dividing G, G not dividing E) is a programmer bug.
    public init(numExperts: Int, numGroups: Int, numCards: Int) {
        precondition(numGroups > 0 && numExperts % numGroups == 0, "ExpertPlacement: groups must divide experts")
        precondition(numCards > 0 && numGroups % numCards == 0, "ExpertPlacement: cards must divide expert groups")
        self.numExperts = numExperts
        self.numGroups = numGroups
        self.numCards = numCards
        let zeros = [Int](repeating: 0, count: numCards)
        state.withLock { $0 = LoadState(current: zeros, lastStep: zeros, total: zeros) }
    }

    /// Whether `numCards` can split `numGroups` groups evenly.
    public static func canPlace(numGroups: Int, numCards: Int) -> Bool {
        numCards > 0 && numGroups > 0 && numGroups % numCards == 0
    }

    /// The card that holds `expert`.
    public func card(ofExpert expert: Int) -> Int {
        precondition(expert >= 0 && expert < numExperts, "ExpertPlacement: expert out of range")
        let expertsPerCard = numExperts / numCards
        return expert / expertsPerCard
    }

    /// The experts card `card` holds, ascending.
    public func experts(onCard card: Int) -> Range<Int> {
        let expertsPerCard = numExperts / numCards
        return card * expertsPerCard..<(card + 1) * expertsPerCard
    }

    /// Adds one MoE layer's dispatch: `numTokens[c]` rows sent to card c.
    public func recordDispatch(_ numTokens: [Int]) {
        precondition(numTokens.count == numCards, "ExpertPlacement: one count per card")
        state.withLock { s in
            for c in 0..<numCards { s.current[c] += numTokens[c] }
        }
    }

    /// Closes the step in progress (called by the worker after each model step).
    public func endStep() {
        state.withLock { s in
            guard s.current.contains(where: { $0 > 0 }) else { return }
            for c in 0..<numCards { s.total[c] += s.current[c] }
            s.maxImbalance = max(s.maxImbalance, Self.imbalance(s.current))
            s.lastStep = s.current
            s.current = [Int](repeating: 0, count: numCards)
            s.numSteps += 1
        }
    }

    public var loadSnapshot: LoadSnapshot {
        state.withLock { s in
            LoadSnapshot(
                numTokensTotal: s.total, numTokensLastStep: s.lastStep, numSteps: s.numSteps,
                maxImbalanceRatio: s.maxImbalance)
        }
    }

    /// max/mean of `loads`; 1 when all are zero.
    public static func imbalance(_ loads: [Int]) -> Double {
        let sum = loads.reduce(0, +)
        guard sum > 0, let maxLoad = loads.max() else { return 1 }
        return Double(maxLoad) / (Double(sum) / Double(loads.count))
    }
}
