/// Checks that a `DecoderShape` describes a model that can be split
/// across tensor-parallel ranks.
extension DecoderShape {
    /// Throws unless every size is positive (intermediate sizes may be 0 for
    /// an MoE model), the heads and intermediate sizes divide by
    /// `tensorParallelSize`, the KV heads divide it or are divided by it
    /// (then replicated), and the MoE counts are consistent.
    /// With `expertParallelSize` > 1 the model must be MoE and the expert
    /// groups (or experts, without groups) must divide by it.
    public func validate(tensorParallelSize tp: Int = 1, expertParallelSize ep: Int = 1) throws {
        func invalid(_ reason: String) -> NPUError {
            .invalidArgument(name: "tensorParallelSize \(tp)", reason: reason)
        }
        let sizes = [
            ("hidden_size", hiddenSize), ("num_hidden_layers", numHiddenLayers),
            ("num_attention_heads", numAttentionHeads), ("num_key_value_heads", numKeyValueHeads),
            ("head_dim", headDim), ("vocab_size", vocabSize),
        ]
        if let (key, value) = sizes.first(where: { $0.1 <= 0 }) {
            throw NPUError.invalidModelConfig(key: key, reason: "must be positive, got \(value)")
        }
        if intermediateSize < 0 || (moe == nil && intermediateSize == 0) {
            throw NPUError.invalidModelConfig(
                key: "intermediate_size", reason: "must be positive, got \(intermediateSize)")
        }
        if tp < 1 { throw invalid("must be ≥ 1") }
        if numAttentionHeads % tp != 0 { throw invalid("does not divide \(numAttentionHeads) attention heads") }
        if numKeyValueHeads % tp != 0 && tp % numKeyValueHeads != 0 {
            throw invalid("neither divides nor is a multiple of \(numKeyValueHeads) KV heads")
        }
        if intermediateSize % tp != 0 { throw invalid("does not divide intermediate size \(intermediateSize)") }
        if ep < 1 { throw NPUError.invalidArgument(name: "expertParallelSize \(ep)", reason: "must be ≥ 1") }
        guard let moe else {
            if ep > 1 {
                throw NPUError.invalidArgument(name: "expertParallelSize \(ep)", reason: "the model has no experts")
            }
            return
        }
        if moe.moeIntermediateSize < 1 || moe.moeIntermediateSize % tp != 0
            || moe.sharedExpertIntermediateSize % tp != 0
        {
            throw invalid("does not divide the expert intermediate sizes")
        }
        if moe.numExperts < 1 || moe.numExpertsPerTok < 1 || moe.numExpertsPerTok > moe.numExperts {
            throw NPUError.invalidModelConfig(
                key: "num_experts_per_tok", reason: "must be in 1...num_experts (\(moe.numExperts))")
        }
        if moe.numExpertGroups < 1 || moe.numExperts % moe.numExpertGroups != 0 {
            throw NPUError.invalidModelConfig(
                key: "num_expert_groups", reason: "must be ≥ 1 and divide num_experts (\(moe.numExperts))")
        }
        if moe.numExpertGroups % ep != 0 && (moe.numExpertGroups > 1 || moe.numExperts % ep != 0) {
            throw NPUError.invalidArgument(
                name: "expertParallelSize \(ep)",
                reason: "does not divide the \(moe.numExpertGroups) expert groups of \(moe.numExperts) experts")
        }
    }
}
