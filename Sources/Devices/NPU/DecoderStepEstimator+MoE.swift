import Foundation

/// The Mixture-of-Experts MLP block: router, routed experts (grouped
/// matmuls over the experts the batch touches), shared expert, all-reduce.
/// Without expert parallelism experts are split by TP along their
/// intermediate size (every rank holds a slice of every expert); with it see
/// `expertParallelMoEOps`.
extension DecoderStepEstimator {
    func moeOps(_ batch: NPUBatch, layer: Int) -> [NPUOp] {
        guard let moe = shape.moe else { return mlpOps(batch, layer: layer) }
        if expertParallelSize > 1 { return expertParallelMoEOps(batch, layer: layer, moe: moe) }
        let p = "layers.\(layer)."
        let t = batch.numTokens
        let h = shape.hiddenSize
        let k = moe.numExpertsPerTok
        let expertSize = moe.moeIntermediateSize / tensorParallelSize
        var ops = [addRMSNorm(p + "post_attention_layernorm", numTokens: t)]
        // Router in the activation dtype, then softmax + (grouped) top-k, ~5 FLOPs per logit.
        ops.append(
            .matmul(
                name: p + "mlp.gate", numTokens: t, inFeatures: h, outFeatures: moe.numExperts, weightDType: activation,
                activationDType: activation))
        ops.append(
            .vector(
                name: p + "mlp.topk", numElements: t * moe.numExperts, flopsPerElement: 5, bytesPerElement: ab,
                dtype: activation))
        // Permute token rows to their experts: read + write t·k rows.
        ops.append(
            .vector(
                name: p + "mlp.experts.dispatch", numElements: t * k * h, flopsPerElement: 0, bytesPerElement: 2 * ab,
                dtype: activation))
        ops += expertMatmuls(p + "mlp.experts.", numTokens: t, expertSize: expertSize, moe: moe)
        ops += combineAndSharedExpert(p, numCombinedTokens: t, numTokens: t, moe: moe)
        return ops
    }

    /// The end of an MoE block: the weighted sum of each token's k expert outputs (2 FLOPs, read k rows,
    /// write 1) over `numCombinedTokens`, the shared expert over all `numTokens`, and the all-reduce.
    func combineAndSharedExpert(_ p: String, numCombinedTokens: Int, numTokens t: Int, moe: DecoderShape.MoE)
        -> [NPUOp]
    {
        let k = moe.numExpertsPerTok
        var ops: [NPUOp] = [
            .vector(
                name: p + "mlp.experts.combine", numElements: numCombinedTokens * k * shape.hiddenSize,
                flopsPerElement: 2, bytesPerElement: ab + ab / Double(k),
                dtype: activation)
        ]
        if moe.sharedExpertIntermediateSize > 0 {
            ops += denseMLP(
                p + "mlp.shared_expert.", numTokens: t,
                intermediateSize: moe.sharedExpertIntermediateSize / tensorParallelSize)
        }
        ops += allReduce(p + "mlp.all_reduce", numElements: t * shape.hiddenSize)
        return ops
    }

    /// Grouped gate_up, activation, down over t·k routed rows; the weights
    /// read are those of the experts touched (`expectedNumExpertsTouched`).
    /// `rows` and `experts` override the routed rows (t·k) and the experts
    /// touched on this card (expert parallelism).
    func expertMatmuls(
        _ prefix: String, numTokens t: Int, expertSize i: Int, moe: DecoderShape.MoE, rows: Double? = nil,
        experts: Double? = nil
    ) -> [NPUOp] {
        let h = Double(shape.hiddenSize)
        let rows = rows ?? Double(t * moe.numExpertsPerTok)
        let experts = experts ?? Self.expectedNumExpertsTouched(numTokens: t, moe: moe)
        let wb = Double(shape.weightDType.numBytes)
        let inb = shape.weightDType == .int8 ? 1 : ab
        let size = Double(i)
        var ops: [NPUOp] = []
        if shape.weightDType == .int8 {
            ops.append(
                .vector(
                    name: prefix + "gate_up_proj.quantize", numElements: Int(rows * h), flopsPerElement: 4,
                    bytesPerElement: ab + 1, dtype: activation))
        }
        ops.append(
            NPUOp(
                name: prefix + "gate_up_proj", kind: .matmul, dtype: shape.weightDType, flops: 2 * rows * h * 2 * size,
                bytes: experts * h * 2 * size * wb + rows * h * inb + rows * 2 * size * ab))
        ops.append(
            .vector(
                name: prefix + "act_fn", numElements: Int(rows * size), flopsPerElement: 5, bytesPerElement: 3 * ab,
                dtype: activation))
        if shape.weightDType == .int8 {
            ops.append(
                .vector(
                    name: prefix + "down_proj.quantize", numElements: Int(rows * size), flopsPerElement: 4,
                    bytesPerElement: ab + 1, dtype: activation))
        }
        ops.append(
            NPUOp(
                name: prefix + "down_proj", kind: .matmul, dtype: shape.weightDType, flops: 2 * rows * size * h,
                bytes: experts * size * h * wb + rows * size * inb + rows * h * ab))
        return ops
    }

    /// Expected distinct experts a batch of t tokens routes to, under uniform
    /// routing: E · (1 − (1 − k/E)^t). With G groups each token picks k/G of
    /// the E/G experts of every group, which gives the same per-expert
    /// probability k/E, so the formula holds for MoGE too.
    static func expectedNumExpertsTouched(numTokens t: Int, moe: DecoderShape.MoE) -> Double {
        let e = Double(moe.numExperts)
        let missProbability = 1 - Double(moe.numExpertsPerTok) / e
        return e * (1 - pow(missProbability, Double(t)))
    }
}
