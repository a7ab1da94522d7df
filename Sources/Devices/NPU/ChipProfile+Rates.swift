/// Derived peak rates and validation of a `ChipProfile`.
extension ChipProfile {
    /// Clock in Hz.
    public var clockHz: Double { clockMHz * 1_000_000 }

    /// Dtypes the cube unit supports natively.
    public var cubeDTypes: [NPUDType] {
        NPUDType.allCases.filter { cubeMACsPerCyclePerCore[$0.rawValue] != nil }
    }

    /// Peak cube rate in FLOP/s (one MAC = 2 FLOPs), nil when `dtype` is not
    /// supported: cores × MACs per cycle × 2 × clock.
    public func cubePeakFLOPsPerSecond(_ dtype: NPUDType) -> Double? {
        guard let macs = cubeMACsPerCyclePerCore[dtype.rawValue] else { return nil }
        return Double(numCubeCores) * macs * 2 * clockHz
    }

    /// Peak vector rate in FLOP/s, nil when `dtype` is not supported:
    /// vector cores × FLOPs per cycle × clock.
    public func vectorPeakFLOPsPerSecond(_ dtype: NPUDType) -> Double? {
        guard let perCycle = vectorFLOPsPerCyclePerCore[dtype.rawValue] else { return nil }
        return Double(numVectorCores) * perCycle * clockHz
    }

    /// Checks the invariants; `source` names the file in the error.
    public func validate(source: String) throws {
        func fail(_ reason: String) -> NPUError { .invalidProfile(source: source, reason: reason) }
        if name.isEmpty { throw fail("empty name") }
        if numCubeCores <= 0 || numVectorCores <= 0 { throw fail("core counts must be positive") }
        if !(clockMHz > 0) { throw fail("clockMHz must be positive") }
        if hbmBytes <= 0 || l2Bytes < 0 { throw fail("hbmBytes must be positive and l2Bytes non-negative") }
        if !(hbmBandwidthBytesPerSecond > 0) { throw fail("hbmBandwidthBytesPerSecond must be positive") }
        if cubeDTypes.isEmpty {
            throw fail("cubeMACsPerCyclePerCore names no known dtype (\(NPUDType.allCases.map(\.rawValue)))")
        }
        let rates = Array(cubeMACsPerCyclePerCore.values) + Array(vectorFLOPsPerCyclePerCore.values)
        if rates.contains(where: { !($0 > 0) }) { throw fail("per-cycle rates must be positive") }
        let unknown = Set(cubeMACsPerCyclePerCore.keys).union(vectorFLOPsPerCyclePerCore.keys)
            .subtracting(NPUDType.allCases.map(\.rawValue))
        if let key = unknown.sorted().first { throw fail("unknown dtype key '\(key)'") }
        for (label, value) in [
            ("compute", efficiency.compute), ("memory", efficiency.memory),
            ("communication", efficiency.communication),
        ] where !(value > 0 && value <= 1) {
            throw fail("efficiency.\(label) must be in (0, 1], got \(value)")
        }
        let launches = [launchMicroseconds.matmul, launchMicroseconds.vector, launchMicroseconds.collective]
        if launches.contains(where: { !($0 >= 0) }) { throw fail("launch costs must be non-negative") }
        if numCardsPerServer <= 0 { throw fail("numCardsPerServer must be positive") }
        for link in [intraServerLink, interServerLink]
        where !(link.bandwidthBytesPerSecond > 0) || !(link.latencyMicroseconds >= 0) {
            throw fail("links need a positive bandwidth and a non-negative latency")
        }
    }
}
