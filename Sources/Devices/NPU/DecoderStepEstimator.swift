/// Analytic estimate of one forward step of a decoder LLM on simulated Ascend
/// cards: lists the kernels one tensor-parallel rank runs for a batch (as
/// `NPUOp`s) and times them with `NPUCostModel`. It drives the capacity
/// planner (`pangu-serve simulate`) and the NPU worker's clock.
///
/// Per layer (vLLM-style tensor parallelism, Megatron-LM split: column-
/// parallel QKV and gate/up, row-parallel o and down, one all-reduce after
/// each): add+RMSNorm, qkv_proj, rotary, KV-cache write, attention (scores on
/// the cube reading K; softmax on the vector unit and values reading V, both
/// fused into the attention kernel so they pay no launch), o_proj,
/// all-reduce, add+RMSNorm, MLP (gate_up, SiLU·mul, down; or router + routed
/// experts + shared expert), all-reduce. Around the layers: embedding (with
/// its all-reduce under TP), final norm, lm_head on one row per sequence, and
/// an all-gather of the logits under TP. W8A8 adds a per-token quantize
/// kernel before each int8 linear layer. Sampling is not modelled.
/// With expert parallelism (`expertParallelSize` N > 1) the routed experts are
/// not split by TP: each card holds all of E/N experts and tokens travel to
/// them in an all-to-all dispatch and back in an all-to-all combine
/// (`DecoderStepEstimator+ExpertParallel.swift`).
/// Invariants: heads, intermediate sizes divisible by the TP degree; KV heads
/// divisible by it or dividing it (then replicated); expert groups divisible
/// by the EP degree.
public struct DecoderStepEstimator: Sendable {
    public let shape: DecoderShape
    public let costModel: NPUCostModel
    /// Cards one model instance is split across.
    public let tensorParallelSize: Int
    /// Cards the routed experts are spread across (1: experts split by TP instead).
    /// Equal to `tensorParallelSize` for TP attention, or the data-parallel
    /// width for DP attention (then `tensorParallelSize` is 1 and a batch is one card's).
    public let expertParallelSize: Int

    /// Throws when the shape cannot be split `tensorParallelSize` ways
    /// (`DecoderShape.validate(tensorParallelSize:expertParallelSize:)`) or the
    /// chip lacks the shape's dtypes.
    public init(
        shape: DecoderShape, costModel: NPUCostModel, tensorParallelSize: Int = 1, expertParallelSize: Int = 1
    ) throws {
        try shape.validate(tensorParallelSize: tensorParallelSize, expertParallelSize: expertParallelSize)
        for (category, dtype) in [
            (NPUOpCategory.matmul, shape.weightDType), (.matmul, shape.activationDType),
            (.vector, shape.activationDType),
        ] {
            _ = try costModel.effectiveFLOPsPerSecond(category, dtype: dtype)
        }
        self.shape = shape
        self.costModel = costModel
        self.tensorParallelSize = tensorParallelSize
        self.expertParallelSize = expertParallelSize
    }

    /// The kernels one rank runs for `batch`, in order.
    public func ops(for batch: NPUBatch) throws -> [NPUOp] {
        try batch.validate()
        var ops = embeddingOps(batch)
        for layer in 0..<shape.numHiddenLayers {
            ops += attentionOps(batch, layer: layer)
            ops += shape.isMoELayer(layer) ? moeOps(batch, layer: layer) : mlpOps(batch, layer: layer)
        }
        ops += headOps(batch)
        return ops
    }

    /// The ops of `batch` recorded into a fresh ledger; its `stepSeconds` is
    /// the predicted step time.
    public func estimate(_ batch: NPUBatch) throws -> NPUStepLedger {
        var ledger = NPUStepLedger(costModel: costModel)
        try ledger.record(contentsOf: ops(for: batch))
        return ledger
    }

    /// Predicted step time of `batch`, seconds.
    public func stepSeconds(_ batch: NPUBatch) throws -> Double {
        try estimate(batch).stepSeconds
    }
}
