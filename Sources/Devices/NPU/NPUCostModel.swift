/// Roofline cost model of one simulated Ascend chip: turns an `NPUOp` into
/// the seconds the real chip would take, for the step ledger, the NPU
/// worker's clock and the capacity planner.
///
/// For cube and vector ops (P = peak rate of the unit for the op's dtype):
///
///     time = max(flops / (P × computeEfficiency), bytes / (hbmBandwidth × memoryEfficiency))
///            + numLaunches × launchCost(kind)
///
/// i.e. the roofline of Williams, Waterman & Patterson, "Roofline: an
/// insightful visual performance model for multicore architectures" (CACM
/// 2009), with de-rated peaks and a fixed launch cost, as in Huawei's
/// msmodeling analytic model. int8 runs at the cube's int8 rate (twice bf16
/// on 910B). Collectives: `LinkModel.seconds` + launch cost. Defaults from the
/// profiles: efficiencies 0.7 / 0.6 / 0.7; launch 5 µs matmul, 2 µs vector,
/// 10 µs collective. The model is pure: no state, safe to share.
public struct NPUCostModel: Sendable {
    /// The chip being modelled.
    public let profile: ChipProfile
    /// Its card-to-card links.
    public let links: LinkModel

    public init(profile: ChipProfile) {
        self.profile = profile
        self.links = LinkModel(profile: profile)
    }

    /// Effective (de-rated) rate in FLOP/s of `kind`'s unit for `dtype`;
    /// throws `NPUError.unsupportedDType` when the chip lacks it natively.
    public func effectiveFLOPsPerSecond(_ category: NPUOpCategory, dtype: NPUDType) throws -> Double {
        let peak: Double?
        switch category {
        case .matmul: peak = profile.cubePeakFLOPsPerSecond(dtype)
        case .vector: peak = profile.vectorPeakFLOPsPerSecond(dtype)
        case .collective: return .infinity
        }
        guard let peak else {
            throw NPUError.unsupportedDType(
                dtype: dtype, unit: category == .matmul ? "cube" : "vector", chip: profile.name)
        }
        return peak * profile.efficiency.compute
    }

    /// Effective device-memory bandwidth, bytes per second.
    public var effectiveMemoryBytesPerSecond: Double {
        profile.hbmBandwidthBytesPerSecond * profile.efficiency.memory
    }

    /// The time of `op` with its parts; throws for a dtype the unit lacks.
    public func timing(of op: NPUOp) throws -> NPUOpTiming {
        let launches = Double(op.numLaunches) * 1e-6
        switch op.kind {
        case .matmul, .vector:
            let rate = try effectiveFLOPsPerSecond(op.category, dtype: op.dtype)
            let launch = op.category == .matmul ? profile.launchMicroseconds.matmul : profile.launchMicroseconds.vector
            return NPUOpTiming(
                computeSeconds: op.flops / rate, memorySeconds: op.bytes / effectiveMemoryBytesPerSecond,
                communicationSeconds: 0, launchSeconds: launches * launch)
        case .collective(let collective, let numRanks):
            precondition(numRanks >= 1, "NPUOp \(op.name): collective over \(numRanks) ranks")
            if numRanks == 1 { return NPUOpTiming() }
            return NPUOpTiming(
                communicationSeconds: links.seconds(collective, bytes: op.bytes, numRanks: numRanks),
                launchSeconds: launches * profile.launchMicroseconds.collective)
        }
    }

    /// `timing(of: op).seconds`.
    public func seconds(of op: NPUOp) throws -> Double {
        try timing(of: op).seconds
    }
}

/// The parts of one op's simulated time, in seconds.
public struct NPUOpTiming: Sendable, Equatable {
    /// FLOPs over the effective compute rate.
    public var computeSeconds: Double
    /// Bytes over the effective memory bandwidth.
    public var memorySeconds: Double
    /// Link time of a collective.
    public var communicationSeconds: Double
    /// Fixed launch cost.
    public var launchSeconds: Double

    public init(
        computeSeconds: Double = 0, memorySeconds: Double = 0, communicationSeconds: Double = 0,
        launchSeconds: Double = 0
    ) {
        self.computeSeconds = computeSeconds
        self.memorySeconds = memorySeconds
        self.communicationSeconds = communicationSeconds
        self.launchSeconds = launchSeconds
    }

    /// Total: max(compute, memory) + communication + launch.
    public var seconds: Double {
        max(computeSeconds, memorySeconds) + communicationSeconds + launchSeconds
    }

    /// What limits the op (ties go to memory).
    public var bound: NPUBound {
        if communicationSeconds > 0 { return .communication }
        if computeSeconds == 0 && memorySeconds == 0 { return .launch }
        return computeSeconds > memorySeconds ? .compute : .memory
    }
}

/// The resource that limits an op.
public enum NPUBound: String, Sendable, Equatable {
    case compute
    case memory
    case communication
    /// No work, only the launch cost.
    case launch
}
