/// Static description of one simulated Ascend chip (cores, clock, device
/// memory, rates, efficiencies, launch costs, links); loaded from
/// `Config/devices/*.json` by `ChipProfileCatalog` and read by `NPUCostModel`
/// and `HBMAllocator`.
///
/// Units are in the property names (bytes, bytes per second, MHz, µs). Peak
/// rates are derived, not stored: cube peak = `numCubeCores` ×
/// `cubeMACsPerCyclePerCore[dtype]` × 2 × clock; vector peak =
/// `numVectorCores` × `vectorFLOPsPerCyclePerCore[dtype]` × clock. A dtype
/// missing from a rate table is not supported natively on that unit.
/// Invariants (checked by `validate()`): positive counts, sizes and rates,
/// efficiencies in (0, 1], at least one cube dtype.
public struct ChipProfile: Sendable, Equatable, Codable {
    /// Name used to select the chip (e.g. "910B2").
    public var name: String
    /// One line for humans (product, form factor).
    public var description: String
    /// AI cores with a cube (matrix) unit.
    public var numCubeCores: Int
    /// Vector cores (two per AI core on 910B; one per AI core on 310P).
    public var numVectorCores: Int
    /// Cube and vector clock, MHz.
    public var clockMHz: Double
    /// Device memory (HBM, or LPDDR on 310P) capacity, bytes.
    public var hbmBytes: Int
    /// On-chip L2 cache, bytes (informational; not used by the cost model).
    public var l2Bytes: Int
    /// Peak device-memory bandwidth, bytes per second.
    public var hbmBandwidthBytesPerSecond: Double
    /// Multiply-accumulates per cycle per cube core, by dtype raw value
    /// (16x16x16 = 4096 for fp16/bf16, 16x32x16 = 8192 for int8).
    public var cubeMACsPerCyclePerCore: [String: Double]
    /// FLOPs per cycle per vector core, by dtype raw value.
    public var vectorFLOPsPerCyclePerCore: [String: Double]
    /// Fractions of peak reached in practice.
    public var efficiency: Efficiency
    /// Fixed cost of one kernel launch per op kind, µs.
    public var launchMicroseconds: LaunchCosts
    /// Cards in one server that share `intraServerLink`.
    public var numCardsPerServer: Int
    /// Link between cards of one server (per card, one direction).
    public var intraServerLink: Link
    /// Link between servers (per card, one direction).
    public var interServerLink: Link
    /// Sources and assumptions, for humans.
    public var notes: [String]

    /// Fractions of peak compute, memory bandwidth and link bandwidth reached.
    public struct Efficiency: Sendable, Equatable, Codable {
        public var compute: Double
        public var memory: Double
        public var communication: Double

        public init(compute: Double, memory: Double, communication: Double) {
            self.compute = compute
            self.memory = memory
            self.communication = communication
        }
    }

    /// Fixed cost per kernel launch, µs.
    public struct LaunchCosts: Sendable, Equatable, Codable {
        public var matmul: Double
        public var vector: Double
        public var collective: Double

        public init(matmul: Double, vector: Double, collective: Double) {
            self.matmul = matmul
            self.vector = vector
            self.collective = collective
        }
    }

    /// One kind of interconnect as seen by one card.
    public struct Link: Sendable, Equatable, Codable {
        /// How cards reach each other; selects the collective algorithm.
        public var topology: LinkTopology
        /// One-direction bandwidth available to one card, bytes per second.
        public var bandwidthBytesPerSecond: Double
        /// Latency of one hop, µs.
        public var latencyMicroseconds: Double

        public init(topology: LinkTopology, bandwidthBytesPerSecond: Double, latencyMicroseconds: Double) {
            self.topology = topology
            self.bandwidthBytesPerSecond = bandwidthBytesPerSecond
            self.latencyMicroseconds = latencyMicroseconds
        }
    }

    public init(
        name: String, description: String, numCubeCores: Int, numVectorCores: Int, clockMHz: Double,
        hbmBytes: Int, l2Bytes: Int, hbmBandwidthBytesPerSecond: Double,
        cubeMACsPerCyclePerCore: [String: Double], vectorFLOPsPerCyclePerCore: [String: Double],
        efficiency: Efficiency, launchMicroseconds: LaunchCosts, numCardsPerServer: Int,
        intraServerLink: Link, interServerLink: Link, notes: [String] = []
    ) {
        self.name = name
        self.description = description
        self.numCubeCores = numCubeCores
        self.numVectorCores = numVectorCores
        self.clockMHz = clockMHz
        self.hbmBytes = hbmBytes
        self.l2Bytes = l2Bytes
        self.hbmBandwidthBytesPerSecond = hbmBandwidthBytesPerSecond
        self.cubeMACsPerCyclePerCore = cubeMACsPerCyclePerCore
        self.vectorFLOPsPerCyclePerCore = vectorFLOPsPerCyclePerCore
        self.efficiency = efficiency
        self.launchMicroseconds = launchMicroseconds
        self.numCardsPerServer = numCardsPerServer
        self.intraServerLink = intraServerLink
        self.interServerLink = interServerLink
        self.notes = notes
    }
}

/// How the cards joined by a link reach each other.
public enum LinkTopology: String, Sendable, Equatable, Codable {
    /// A direct link from every card to every other (HCCS inside an Atlas
    /// 800 A2 server): collectives finish in one step per phase.
    case fullMesh
    /// A non-blocking switch (PCIe switch, RoCE fabric): collectives use ring
    /// and pairwise-exchange algorithms, one hop latency per step.
    case switched
}
