/// One kernel the simulated NPU runs in a step, reduced to what the cost
/// model needs: which unit, dtype, FLOPs and bytes of device memory moved.
///
/// The model runner (or `DecoderStepEstimator`) describes its work as a list
/// of these; `NPUCostModel` turns each into time. For a collective `bytes` is
/// the payload per rank (see `NPUCollective` for which size that is) and
/// `flops` is ignored. `numLaunches` is 1 for a kernel of its own and 0 for a
/// stage fused into the previous kernel (it then pays no launch cost).
public struct NPUOp: Sendable, Equatable {
    /// Checkpoint-style name, e.g. "layers.3.self_attn.qkv_proj".
    public var name: String
    /// Unit the op runs on.
    public var kind: NPUOpKind
    /// Dtype that selects the cube or vector rate.
    public var dtype: NPUDType
    /// Floating-point (or integer) operations; a multiply-add counts 2.
    public var flops: Double
    /// Bytes read plus written in device memory (collectives: payload per rank).
    public var bytes: Double
    /// Kernel launches charged (0 when fused into the previous kernel).
    public var numLaunches: Int

    public init(
        name: String, kind: NPUOpKind, dtype: NPUDType, flops: Double, bytes: Double, numLaunches: Int = 1
    ) {
        precondition(flops >= 0 && bytes >= 0 && numLaunches >= 0, "NPUOp \(name): negative size")
        self.name = name
        self.kind = kind
        self.dtype = dtype
        self.flops = flops
        self.bytes = bytes
        self.numLaunches = numLaunches
    }

    /// A matrix product on the cube unit:
    /// x [m, k] · W [k, n] -> y [m, n]; FLOPs 2·m·k·n; bytes = W + x + y.
    /// With `weightDType` int8 (W8A8) x is read as int8 and the cube runs at
    /// the int8 rate; y is written in `activationDType`.
    public static func matmul(
        name: String, numTokens m: Int, inFeatures k: Int, outFeatures n: Int,
        weightDType: NPUDType, activationDType: NPUDType
    ) -> NPUOp {
        let (m, k, n) = (Double(m), Double(k), Double(n))
        let inputDType = weightDType == .int8 ? NPUDType.int8 : activationDType
        let bytes =
            k * n * Double(weightDType.numBytes) + m * k * Double(inputDType.numBytes)
            + m * n * Double(activationDType.numBytes)
        return NPUOp(name: name, kind: .matmul, dtype: weightDType, flops: 2 * m * k * n, bytes: bytes)
    }

    /// An elementwise or reduction kernel on the vector unit over `numElements`
    /// elements: `flopsPerElement` FLOPs and `bytesPerElement` bytes each.
    public static func vector(
        name: String, numElements: Int, flopsPerElement: Double, bytesPerElement: Double,
        dtype: NPUDType, numLaunches: Int = 1
    ) -> NPUOp {
        let count = Double(numElements)
        return NPUOp(
            name: name, kind: .vector, dtype: dtype, flops: count * flopsPerElement,
            bytes: count * bytesPerElement, numLaunches: numLaunches)
    }

    /// A collective over `numRanks` cards with `bytes` of payload per rank.
    public static func collective(
        name: String, _ collective: NPUCollective, numRanks: Int, bytes: Double, dtype: NPUDType
    ) -> NPUOp {
        NPUOp(name: name, kind: .collective(collective, numRanks: numRanks), dtype: dtype, flops: 0, bytes: bytes)
    }

    /// The ledger bucket of this op.
    public var category: NPUOpCategory {
        switch kind {
        case .matmul: .matmul
        case .vector: .vector
        case .collective: .collective
        }
    }
}

/// The unit an `NPUOp` runs on.
public enum NPUOpKind: Sendable, Equatable {
    /// Cube (matrix) unit.
    case matmul
    /// Vector unit.
    case vector
    /// Inter-card links (HCCL), over `numRanks` cards.
    case collective(NPUCollective, numRanks: Int)
}

/// Ledger bucket: one per `NPUOpKind` without its payload.
public enum NPUOpCategory: String, Sendable, Hashable, CaseIterable {
    case matmul
    case vector
    case collective
}

/// Collective patterns; `bytes` of the op is, per rank:
/// all-reduce: the buffer reduced (input = output size);
/// all-gather: the gathered output; reduce-scatter: the input before
/// scattering; all-to-all: everything a rank sends (its own share included).
public enum NPUCollective: String, Sendable, Hashable, CaseIterable {
    case allReduce
    case allGather
    case reduceScatter
    case allToAll
}
