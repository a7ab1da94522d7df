import Foundation

/// The MoE block under expert parallelism (EP degree N = `expertParallelSize`):
/// each card holds E/N whole experts (for MoGE, G/N whole groups), tokens are
/// sent to the cards owning their experts (all-to-all dispatch), computed
/// there, and sent back (all-to-all combine), as in GShard (Lepikhin et al.,
/// arXiv:2006.16668) and the Pangu Pro MoE paper (arXiv:2505.21411).
///
/// Tokens a card routes: with TP attention (tensorParallelSize = N) every card
/// holds all t tokens after the attention all-reduce and takes its slice of
/// ⌈t/N⌉; with DP attention (tensorParallelSize = 1) a card routes its own t.
/// Balanced routing (exact for MoGE with groups spread evenly): a card
/// receives as many rows as it sends, local·k. Payloads per rank: local·k·h
/// elements each way, int8 on dispatch under W8A8 (quantised before sending),
/// activation dtype on combine. The shared expert is TP-split over all t
/// tokens (TP attention; its partial sums and the routed outputs meet in one
/// all-reduce) or whole on the card's t tokens (DP attention, no all-reduce).
extension DecoderStepEstimator {
    func expertParallelMoEOps(_ batch: NPUBatch, layer: Int, moe: DecoderShape.MoE) -> [NPUOp] {
        let p = "layers.\(layer)."
        let t = batch.numTokens
        let h = shape.hiddenSize
        let k = moe.numExpertsPerTok
        let n = expertParallelSize
        let local = tensorParallelSize > 1 ? (t + tensorParallelSize - 1) / tensorParallelSize : t
        var ops = [addRMSNorm(p + "post_attention_layernorm", numTokens: t)]
        ops.append(
            .matmul(
                name: p + "mlp.gate", numTokens: local, inFeatures: h, outFeatures: moe.numExperts,
                weightDType: activation, activationDType: activation))
        ops.append(
            .vector(
                name: p + "mlp.topk", numElements: local * moe.numExperts, flopsPerElement: 5, bytesPerElement: ab,
                dtype: activation))
        let rows = Double(local * k)
        let dispatchBytes = shape.weightDType == .int8 ? 1.0 : ab
        ops.append(
            .collective(
                name: p + "mlp.experts.dispatch_all_to_all", .allToAll, numRanks: n,
                bytes: rows * Double(h) * dispatchBytes, dtype: activation))
        let tokensAcrossCards = local * n
        let expertsOnCard = Self.expectedNumExpertsTouched(numTokens: tokensAcrossCards, moe: moe) / Double(n)
        ops += expertMatmuls(
            p + "mlp.experts.", numTokens: local, expertSize: moe.moeIntermediateSize, moe: moe, rows: rows,
            experts: expertsOnCard)
        ops.append(
            .collective(
                name: p + "mlp.experts.combine_all_to_all", .allToAll, numRanks: n, bytes: rows * Double(h) * ab,
                dtype: activation))
        ops += combineAndSharedExpert(p, numCombinedTokens: local, numTokens: t, moe: moe)
        return ops
    }

    /// Bytes one card sends in the all-to-alls of one step (dispatch + combine, all MoE layers).
    public func allToAllBytesPerCard(_ batch: NPUBatch) throws -> Double {
        try ops(for: batch).filter { $0.name.hasSuffix("_all_to_all") }.reduce(0) { $0 + $1.bytes }
    }
}
