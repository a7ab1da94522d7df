/// The kernels of each block of the decoder, per tensor-parallel rank.
/// Sizes: T tokens in the step, h hidden, hd head dim, Hr / KVr heads and KV
/// heads per rank, a = activation bytes. Vector-op constants (FLOPs and
/// bytes per element) are stated where used; they are estimates, and small
/// next to the matmuls.
extension DecoderStepEstimator {
    var activation: NPUDType { shape.activationDType }
    var ab: Double { Double(shape.activationDType.numBytes) }

    func embeddingOps(_ batch: NPUBatch) -> [NPUOp] {
        let elements = batch.numTokens * shape.hiddenSize
        // Row gather: read one row, write it (2a bytes per element).
        var ops = [
            NPUOp.vector(
                name: "embed_tokens", numElements: elements, flopsPerElement: 0, bytesPerElement: 2 * ab,
                dtype: activation)
        ]
        ops += allReduce("embed_tokens.all_reduce", numElements: elements)
        return ops
    }

    func attentionOps(_ batch: NPUBatch, layer: Int) -> [NPUOp] {
        let p = "layers.\(layer)."
        let t = batch.numTokens
        let (h, hd) = (shape.hiddenSize, shape.headDim)
        let numHeads = shape.numAttentionHeads / tensorParallelSize
        let numKVHeads = shape.numKeyValueHeadsPerRank(tensorParallelSize: tensorParallelSize)
        var ops = [addRMSNorm(p + "input_layernorm", numTokens: t)]
        ops += linear(
            p + "self_attn.qkv_proj", numTokens: t, inFeatures: h, outFeatures: (numHeads + 2 * numKVHeads) * hd)
        // Rotary on q and k: x·cos + rotate(x)·sin, 3 FLOPs; read + write.
        ops.append(
            .vector(
                name: p + "self_attn.rotary_emb", numElements: t * (numHeads + numKVHeads) * hd, flopsPerElement: 3,
                bytesPerElement: 2 * ab, dtype: activation))
        // New K and V into the paged cache: read + write.
        ops.append(
            .vector(
                name: p + "self_attn.attn.reshape_and_cache", numElements: t * 2 * numKVHeads * hd, flopsPerElement: 0,
                bytesPerElement: 2 * ab, dtype: activation))
        ops += attentionCore(batch, prefix: p + "self_attn.attn.", numHeads: numHeads, numKVHeads: numKVHeads)
        ops += linear(p + "self_attn.o_proj", numTokens: t, inFeatures: numHeads * hd, outFeatures: h)
        ops += allReduce(p + "self_attn.all_reduce", numElements: t * h)
        return ops
    }

    /// Scores = Q·Kᵀ (cube, reads K and Q), softmax (vector, ~5 FLOPs per
    /// score: max, subtract, exp, sum, scale; on chip), values = P·V (cube,
    /// reads V, writes the output): 2·hd FLOPs per pair per head for each
    /// product. One launch for the fused kernel.
    func attentionCore(_ batch: NPUBatch, prefix: String, numHeads: Int, numKVHeads: Int) -> [NPUOp] {
        let pairs = batch.numAttentionPairs * Double(numHeads)
        let hd = Double(shape.headDim)
        let kvBytes = Double(batch.numKVTokensRead * numKVHeads) * hd * ab
        let queryBytes = Double(batch.numTokens * numHeads) * hd * ab
        return [
            NPUOp(
                name: prefix + "scores", kind: .matmul, dtype: activation, flops: 2 * hd * pairs,
                bytes: kvBytes + queryBytes),
            NPUOp(
                name: prefix + "softmax", kind: .vector, dtype: activation, flops: 5 * pairs, bytes: 0, numLaunches: 0),
            NPUOp(
                name: prefix + "values", kind: .matmul, dtype: activation, flops: 2 * hd * pairs,
                bytes: kvBytes + queryBytes, numLaunches: 0),
        ]
    }

    func mlpOps(_ batch: NPUBatch, layer: Int) -> [NPUOp] {
        let p = "layers.\(layer)."
        let t = batch.numTokens
        var ops = [addRMSNorm(p + "post_attention_layernorm", numTokens: t)]
        ops += denseMLP(p + "mlp.", numTokens: t, intermediateSize: shape.intermediateSize / tensorParallelSize)
        ops += allReduce(p + "mlp.all_reduce", numElements: t * shape.hiddenSize)
        return ops
    }

    /// gate_up_proj [h -> 2i], SiLU(gate)·up (~5 FLOPs per output element;
    /// reads 2 and writes 1 element per output), down_proj [i -> h].
    func denseMLP(_ prefix: String, numTokens t: Int, intermediateSize i: Int) -> [NPUOp] {
        var ops = linear(prefix + "gate_up_proj", numTokens: t, inFeatures: shape.hiddenSize, outFeatures: 2 * i)
        ops.append(
            .vector(
                name: prefix + "act_fn", numElements: t * i, flopsPerElement: 5, bytesPerElement: 3 * ab,
                dtype: activation))
        ops += linear(prefix + "down_proj", numTokens: t, inFeatures: i, outFeatures: shape.hiddenSize)
        return ops
    }

    func headOps(_ batch: NPUBatch) -> [NPUOp] {
        let numSeqs = batch.numSeqs
        let vocabPerRank = (shape.vocabSize + tensorParallelSize - 1) / tensorParallelSize
        var ops = [addRMSNorm("norm", numTokens: batch.numTokens)]
        // lm_head stays in the activation dtype (not quantised), one row per sequence.
        ops.append(
            .matmul(
                name: "lm_head", numTokens: numSeqs, inFeatures: shape.hiddenSize, outFeatures: vocabPerRank,
                weightDType: activation, activationDType: activation))
        if tensorParallelSize > 1 {
            ops.append(
                .collective(
                    name: "lm_head.all_gather", .allGather, numRanks: tensorParallelSize,
                    bytes: Double(numSeqs * shape.vocabSize) * ab, dtype: activation))
        }
        return ops
    }

    /// Residual add fused with RMSNorm: ~5 FLOPs per element (add, square,
    /// sum, scale, weight); reads x and the residual, writes both (4a bytes).
    func addRMSNorm(_ name: String, numTokens: Int) -> NPUOp {
        .vector(
            name: name, numElements: numTokens * shape.hiddenSize, flopsPerElement: 5, bytesPerElement: 4 * ab,
            dtype: activation)
    }

    /// A linear layer x [t, k] · W [k, n]; under W8A8 preceded by per-token
    /// dynamic quantisation of x (~4 FLOPs per element: abs-max, scale,
    /// round, clamp; reads a bytes, writes 1).
    func linear(_ name: String, numTokens t: Int, inFeatures k: Int, outFeatures n: Int) -> [NPUOp] {
        var ops: [NPUOp] = []
        if shape.weightDType == .int8 {
            ops.append(
                .vector(
                    name: name + ".quantize", numElements: t * k, flopsPerElement: 4, bytesPerElement: ab + 1,
                    dtype: activation))
        }
        ops.append(
            .matmul(
                name: name, numTokens: t, inFeatures: k, outFeatures: n, weightDType: shape.weightDType,
                activationDType: activation))
        return ops
    }

    /// An all-reduce of `numElements` activations, only under TP.
    func allReduce(_ name: String, numElements: Int) -> [NPUOp] {
        guard tensorParallelSize > 1 else { return [] }
        return [
            .collective(
                name: name, .allReduce, numRanks: tensorParallelSize, bytes: Double(numElements) * ab, dtype: activation
            )
        ]
    }
}
