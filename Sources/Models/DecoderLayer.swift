import Tensors
import Weights

/// One transformer block's parameters (Llama / openPangu-Embedded layout):
/// pre-norm attention with optional q/k/v/o biases, then pre-norm feed-forward.
struct DecoderLayer: Sendable {
    let inputLayernorm: [Float]  // [hidden]
    let postAttentionLayernorm: [Float]  // [hidden]
    let qProj: WeightTensor  // [heads·headDim, hidden]
    let kProj: WeightTensor  // [kvHeads·headDim, hidden]
    let vProj: WeightTensor  // [kvHeads·headDim, hidden]
    let oProj: WeightTensor  // [hidden, heads·headDim]
    let qBias: [Float]?
    let kBias: [Float]?
    let vBias: [Float]?
    let oBias: [Float]?
    let mlp: any FeedForward

    init(
        config c: ModelConfig, checkpoint: Checkpoint, index: Int, mlp: any FeedForward,
        quantization q: WeightQuantization = .none
    ) throws(WeightsError) {
        let p = "model.layers.\(index)"
        let qDim = c.numAttentionHeads * c.headDim
        inputLayernorm = try checkpoint.tensor("\(p).input_layernorm.weight", shape: [c.hiddenSize]).toFloats()
        postAttentionLayernorm = try checkpoint.tensor("\(p).post_attention_layernorm.weight", shape: [c.hiddenSize])
            .toFloats()
        qProj = q.apply(try checkpoint.tensor("\(p).self_attn.q_proj.weight", shape: [qDim, c.hiddenSize]))
        kProj = q.apply(try checkpoint.tensor("\(p).self_attn.k_proj.weight", shape: [c.kvDim, c.hiddenSize]))
        vProj = q.apply(try checkpoint.tensor("\(p).self_attn.v_proj.weight", shape: [c.kvDim, c.hiddenSize]))
        oProj = q.apply(try checkpoint.tensor("\(p).self_attn.o_proj.weight", shape: [c.hiddenSize, qDim]))
        if c.attentionBias || checkpoint.contains("\(p).self_attn.q_proj.bias") {
            qBias = try checkpoint.tensor("\(p).self_attn.q_proj.bias", shape: [qDim]).toFloats()
            kBias = try checkpoint.tensor("\(p).self_attn.k_proj.bias", shape: [c.kvDim]).toFloats()
            vBias = try checkpoint.tensor("\(p).self_attn.v_proj.bias", shape: [c.kvDim]).toFloats()
            oBias = try checkpoint.tensor("\(p).self_attn.o_proj.bias", shape: [c.hiddenSize]).toFloats()
        } else {
            (qBias, kBias, vBias, oBias) = (nil, nil, nil, nil)
        }
        self.mlp = mlp
    }

    var numParameters: Int {
        let norms = inputLayernorm.count + postAttentionLayernorm.count
        let biases = (qBias?.count ?? 0) + (kBias?.count ?? 0) + (vBias?.count ?? 0) + (oBias?.count ?? 0)
        return norms + biases + qProj.numElements + kProj.numElements + vProj.numElements + oProj.numElements
            + mlp.numParameters
    }

    var numBytes: Int {
        qProj.byteCount + kProj.byteCount + vProj.byteCount + oProj.byteCount + mlp.numBytes
    }
}
