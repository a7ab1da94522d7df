/// Time of collectives between simulated NPUs on the card-to-card links of a
/// `ChipProfile`, in the alpha-beta model (a message of S bytes over one hop
/// costs α + S / B).
///
/// Per link: B = bandwidth × communication efficiency (0.7), α = latency per
/// hop; B is what one card can send in one direction. Formulas, n ranks, S the
/// per-rank payload as defined in `NPUCollective`:
///
/// | pattern | fullMesh (HCCS) | switched (ring / pairwise) |
/// |---|---|---|
/// | all-reduce | 2α + 2(n−1)/n · S/B | 2(n−1)α + 2(n−1)/n · S/B |
/// | all-gather, reduce-scatter | α + (n−1)/n · S/B | (n−1)α + (n−1)/n · S/B |
/// | all-to-all | α + (n−1)/n · S/B | (n−1)α + (n−1)/n · S/B |
///
/// The bandwidth terms are the lower bounds met by ring all-reduce
/// (Patarasuk & Yuan, "Bandwidth optimal all-reduce algorithms for clusters of
/// workstations", JPDC 2009) and the ring/pairwise-exchange algorithms of
/// Thakur, Rabenseifner & Gropp, "Optimization of Collective Communication
/// Operations in MPICH" (IJHPCA 2005). A full mesh sends the n−1 chunks of a
/// phase at once on direct links, so a phase costs one hop of latency.
///
/// A group larger than `numCardsPerServer` spans m = ⌈n/k⌉ servers of
/// k cards: all-reduce is hierarchical (reduce-scatter inside each server,
/// all-reduce of S/k between servers, all-gather inside; as in Jia et al.,
/// arXiv:1807.11205); the other patterns are bound by the inter-server link
/// and use its switched formula over all n ranks. Collective launch cost is
/// added by `NPUCostModel`, not here.
public struct LinkModel: Sendable, Equatable {
    /// Link inside one server.
    public var intraServer: ChipProfile.Link
    /// Link between servers.
    public var interServer: ChipProfile.Link
    /// Cards per server.
    public var numCardsPerServer: Int
    /// Fraction of link bandwidth reached, (0, 1].
    public var efficiency: Double

    public init(
        intraServer: ChipProfile.Link, interServer: ChipProfile.Link, numCardsPerServer: Int, efficiency: Double
    ) {
        precondition(numCardsPerServer > 0 && efficiency > 0, "LinkModel: bad cards per server or efficiency")
        self.intraServer = intraServer
        self.interServer = interServer
        self.numCardsPerServer = numCardsPerServer
        self.efficiency = efficiency
    }

    /// The links of `profile` with its communication efficiency.
    public init(profile: ChipProfile) {
        self.init(
            intraServer: profile.intraServerLink, interServer: profile.interServerLink,
            numCardsPerServer: profile.numCardsPerServer, efficiency: profile.efficiency.communication)
    }

    /// Seconds for `collective` of `bytes` per rank over `numRanks` cards;
    /// 0 for one rank.
    public func seconds(_ collective: NPUCollective, bytes: Double, numRanks n: Int) -> Double {
        precondition(n >= 1 && bytes >= 0, "LinkModel: need at least one rank and non-negative bytes")
        if n == 1 { return 0 }
        if n <= numCardsPerServer { return seconds(collective, bytes: bytes, numRanks: n, link: intraServer) }
        let k = numCardsPerServer
        let m = (n + k - 1) / k
        switch collective {
        case .allReduce:
            let inside = 2 * seconds(.reduceScatter, bytes: bytes, numRanks: k, link: intraServer)
            return inside + seconds(.allReduce, bytes: bytes / Double(k), numRanks: m, link: interServer)
        case .allGather, .reduceScatter, .allToAll:
            var link = interServer
            link.topology = .switched
            return seconds(collective, bytes: bytes, numRanks: n, link: link)
        }
    }

    /// One-level formula of the table above on `link`.
    func seconds(_ collective: NPUCollective, bytes: Double, numRanks n: Int, link: ChipProfile.Link) -> Double {
        if n <= 1 { return 0 }
        let alpha = link.latencyMicroseconds * 1e-6
        let beta = 1 / (link.bandwidthBytesPerSecond * efficiency)
        let share = Double(n - 1) / Double(n)
        let numPhases = collective == .allReduce ? 2.0 : 1.0
        let hopsPerPhase = link.topology == .fullMesh ? 1.0 : Double(n - 1)
        return numPhases * (hopsPerPhase * alpha + share * bytes * beta)
    }
}
