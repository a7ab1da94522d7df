/// Sizes of a decoder-only transformer (Llama / openPangu-Embedded style,
/// optionally with Mixture-of-Experts MLPs as in Pangu Pro MoE) as the NPU
/// cost model needs them; built by hand or from a Hugging Face config.json.
///
/// Plain data with no link to the Models module. Names follow the HF config
/// keys. `weightDType` int8 means W8A8 (int8 linear weights and activations);
/// embeddings, lm_head, attention and the KV cache stay in `activationDType`.
public struct DecoderShape: Sendable, Equatable {
    public var hiddenSize: Int
    public var numHiddenLayers: Int
    public var numAttentionHeads: Int
    public var numKeyValueHeads: Int
    public var headDim: Int
    /// Dense MLP width (also used by the dense layers of an MoE model).
    public var intermediateSize: Int
    public var vocabSize: Int
    /// Linear-layer weight dtype: bf16, fp16, or int8 (W8A8).
    public var weightDType: NPUDType
    /// Activation, embedding, lm_head and KV-cache dtype (bf16 or fp16).
    public var activationDType: NPUDType
    /// lm_head shares the embedding matrix (stored once).
    public var tieWordEmbeddings: Bool
    /// MoE sizes; nil for a dense model.
    public var moe: MoE?

    /// Mixture-of-Experts sizes of the MLP blocks.
    public struct MoE: Sendable, Equatable {
        /// Routed experts per layer (`num_experts`).
        public var numExperts: Int
        /// Experts each token is routed to (`num_experts_per_tok`).
        public var numExpertsPerTok: Int
        /// Expert groups (Mixture of Grouped Experts: each token picks
        /// numExpertsPerTok / numExpertGroups experts in every group); 1 = plain top-k.
        public var numExpertGroups: Int
        /// Width of one routed expert (`moe_intermediate_size`).
        public var moeIntermediateSize: Int
        /// Width of the always-active shared expert; 0 when there is none.
        public var sharedExpertIntermediateSize: Int
        /// Leading layers with a dense MLP instead (`first_k_dense_replace`).
        public var numDenseLayers: Int

        public init(
            numExperts: Int, numExpertsPerTok: Int, numExpertGroups: Int = 1, moeIntermediateSize: Int,
            sharedExpertIntermediateSize: Int = 0, numDenseLayers: Int = 0
        ) {
            self.numExperts = numExperts
            self.numExpertsPerTok = numExpertsPerTok
            self.numExpertGroups = numExpertGroups
            self.moeIntermediateSize = moeIntermediateSize
            self.sharedExpertIntermediateSize = sharedExpertIntermediateSize
            self.numDenseLayers = numDenseLayers
        }
    }

    public init(
        hiddenSize: Int, numHiddenLayers: Int, numAttentionHeads: Int, numKeyValueHeads: Int? = nil,
        headDim: Int? = nil, intermediateSize: Int, vocabSize: Int, weightDType: NPUDType = .bf16,
        activationDType: NPUDType? = nil, tieWordEmbeddings: Bool = false, moe: MoE? = nil
    ) {
        self.hiddenSize = hiddenSize
        self.numHiddenLayers = numHiddenLayers
        self.numAttentionHeads = numAttentionHeads
        self.numKeyValueHeads = numKeyValueHeads ?? numAttentionHeads
        self.headDim = headDim ?? (numAttentionHeads > 0 ? hiddenSize / numAttentionHeads : 0)
        self.intermediateSize = intermediateSize
        self.vocabSize = vocabSize
        self.weightDType = weightDType
        self.activationDType = activationDType ?? (weightDType == .int8 ? .bf16 : weightDType)
        self.tieWordEmbeddings = tieWordEmbeddings
        self.moe = moe
    }

    /// openPangu-Embedded-7B: hidden 4096, 34 layers, 32 heads, 8 KV heads,
    /// head dim 128, intermediate 12800, vocab 153376, bf16.
    public static let openPanguEmbedded7B = DecoderShape(
        hiddenSize: 4096, numHiddenLayers: 34, numAttentionHeads: 32, numKeyValueHeads: 8, headDim: 128,
        intermediateSize: 12800, vocabSize: 153_376)

    /// Whether layer `index` has a routed-expert MLP.
    public func isMoELayer(_ index: Int) -> Bool {
        guard let moe else { return false }
        return index >= moe.numDenseLayers
    }

    /// Parameters of the linear layers of one transformer layer (attention
    /// projections and MLP or all experts), not sharded.
    public func numLinearParameters(layer index: Int) -> Int {
        let attention =
            hiddenSize * (numAttentionHeads + 2 * numKeyValueHeads) * headDim
            + numAttentionHeads * headDim * hiddenSize
        guard let moe, isMoELayer(index) else { return attention + 3 * hiddenSize * intermediateSize }
        return attention + hiddenSize * moe.numExperts + moe.numExperts * 3 * hiddenSize * moe.moeIntermediateSize
            + 3 * hiddenSize * moe.sharedExpertIntermediateSize
    }

    /// Bytes of weights one of `tensorParallelSize` ranks holds: linear layers
    /// in `weightDType` (the MoE router in `activationDType`), embedding and
    /// lm_head in `activationDType`, all split across ranks; norms replicated.
    /// With `expertParallelSize` ep > 1 the routed experts are split ep ways
    /// (whole experts per card) instead of tp ways.
    public func weightBytesPerRank(tensorParallelSize tp: Int = 1, expertParallelSize ep: Int = 1) -> Int {
        precondition(tp >= 1 && ep >= 1, "tensorParallelSize and expertParallelSize must be positive")
        var bytes = 0
        for layer in 0..<numHiddenLayers {
            var linear = numLinearParameters(layer: layer)
            if let moe, isMoELayer(layer) {
                linear -= hiddenSize * moe.numExperts
                bytes += hiddenSize * moe.numExperts * activationDType.numBytes
                if ep > 1 {
                    let routed = moe.numExperts * 3 * hiddenSize * moe.moeIntermediateSize
                    linear -= routed
                    bytes += routed / ep * weightDType.numBytes
                }
            }
            bytes += linear / tp * weightDType.numBytes + 2 * hiddenSize * activationDType.numBytes
        }
        let paddedVocab = (vocabSize + tp - 1) / tp
        let embeddings = paddedVocab * hiddenSize * (tieWordEmbeddings ? 1 : 2)
        return bytes + embeddings * activationDType.numBytes + hiddenSize * activationDType.numBytes
    }

    /// KV heads one rank holds: heads / tp, or 1 (replicated) when tp exceeds them.
    public func numKeyValueHeadsPerRank(tensorParallelSize tp: Int) -> Int {
        max(1, numKeyValueHeads / tp)
    }

    /// Bytes of KV cache per token on one rank: layers × 2 (K and V) × KV
    /// heads per rank × head dim × activation bytes.
    public func kvCacheBytesPerToken(tensorParallelSize tp: Int = 1) -> Int {
        numHiddenLayers * 2 * numKeyValueHeadsPerRank(tensorParallelSize: tp) * headDim
            * activationDType.numBytes
    }
}
