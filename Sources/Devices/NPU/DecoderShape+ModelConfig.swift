import Models

/// Building a `DecoderShape` from a loaded model's `ModelConfig`, in the
/// dtype the chosen chip computes in.
extension DecoderShape {
    /// The shape of `config` with weights, activations and KV cache in
    /// `dtype` (see `NPUDType.deviceDType(checkpoint:profile:)`).
    public init(modelConfig config: ModelConfig, dtype: NPUDType) {
        let moe = config.moe.map {
            MoE(
                numExperts: $0.numExperts, numExpertsPerTok: $0.numExpertsPerTok,
                moeIntermediateSize: $0.moeIntermediateSize,
                sharedExpertIntermediateSize: $0.sharedExpertIntermediateSize)
        }
        self.init(
            hiddenSize: config.hiddenSize, numHiddenLayers: config.numHiddenLayers,
            numAttentionHeads: config.numAttentionHeads, numKeyValueHeads: config.numKeyValueHeads,
            headDim: config.headDim, intermediateSize: config.intermediateSize, vocabSize: config.vocabSize,
            weightDType: dtype, activationDType: dtype, tieWordEmbeddings: config.tieWordEmbeddings, moe: moe)
    }
}

extension NPUDType {
    /// The type a checkpoint's weights live in on `profile`'s card: the
    /// checkpoint's bf16 or fp16 when the cube supports it, else fp16 (310P3
    /// has no bf16), else bf16; fp32 checkpoints are uploaded as bf16 (fp16
    /// on chips without it). Never int8 (W8A8 needs a quantised checkpoint).
    public static func deviceDType(checkpoint torchDType: String, profile: ChipProfile) -> NPUDType {
        let supported = profile.cubeDTypes
        if let wanted = NPUDType(huggingFaceName: torchDType), wanted == .bf16 || wanted == .fp16,
            supported.contains(wanted)
        {
            return wanted
        }
        return supported.contains(.bf16) ? .bf16 : .fp16
    }
}
