import Foundation
import Tensors
import Weights

/// The Llama-family decoder that openPangu-Embedded (with q/k/v/o biases),
/// Llama, and Pangu Pro MoE (with a mixture-of-experts feed-forward) share.
///
/// Computes in f32 from f32/f16/bf16 weights that stay memory-mapped (or
/// from Q8_0 or Q4_0 copies made at load, see `WeightQuantization`).
public final class DecoderModel: CausalLM, @unchecked Sendable {
    public let config: ModelConfig
    let embedTokens: WeightTensor  // [vocab, hidden]
    let lmHead: WeightTensor  // [vocab, hidden] (embedTokens when tied)
    let norm: [Float]  // [hidden]
    let layers: [DecoderLayer]
    let rotary: Rotary
    let pool: KernelPool

    /// `expertPlacement` (MoE models only) partitions every MoE layer's experts
    /// across the cards of an expert-parallel group and records their load;
    /// `quantization` converts the projection matrices at load.
    public init(
        config c: ModelConfig, checkpoint: Checkpoint, pool: KernelPool, expertPlacement: ExpertPlacement? = nil,
        quantization: WeightQuantization = .none
    ) throws(ModelsError) {
        self.config = c
        self.pool = pool
        do {
            embedTokens = quantization.apply(
                try checkpoint.tensor("model.embed_tokens.weight", shape: [c.vocabSize, c.hiddenSize]))
            if c.tieWordEmbeddings || !checkpoint.contains("lm_head.weight") {
                lmHead = embedTokens
            } else {
                lmHead = quantization.apply(
                    try checkpoint.tensor("lm_head.weight", shape: [c.vocabSize, c.hiddenSize]))
            }
            norm = try checkpoint.tensor("model.norm.weight", shape: [c.hiddenSize]).toFloats()
            var layers: [DecoderLayer] = []
            for i in 0..<c.numHiddenLayers {
                let mlp = try Self.feedForward(
                    config: c, checkpoint: checkpoint, layer: i, expertPlacement: expertPlacement,
                    quantization: quantization)
                layers.append(
                    try DecoderLayer(config: c, checkpoint: checkpoint, index: i, mlp: mlp, quantization: quantization))
            }
            self.layers = layers
        } catch { throw .weights(error) }
        // GGUF files carry Llama 3 scaling as per-frequency factors; config.json as `rope_scaling`.
        rotary = Rotary(
            headDim: c.headDim, theta: c.ropeTheta,
            invFreqScaling: c.ropeFreqFactors == nil ? c.ropeScaling.map(Self.llama3Scaling) : nil,
            freqFactors: c.ropeFreqFactors)
    }

    static func feedForward(
        config c: ModelConfig, checkpoint: Checkpoint, layer: Int, expertPlacement: ExpertPlacement?,
        quantization: WeightQuantization
    ) throws(WeightsError) -> any FeedForward {
        let prefix = "model.layers.\(layer).mlp"
        if let moe = c.moe {
            return try MixtureOfGroupedExperts(
                checkpoint: checkpoint, prefix: prefix, hidden: c.hiddenSize, moe: moe,
                expertPlacement: expertPlacement,
                quantization: quantization)
        }
        return try DenseMLP(
            checkpoint: checkpoint, prefix: prefix, hidden: c.hiddenSize, intermediate: c.intermediateSize,
            quantization: quantization)
    }

    /// Llama 3.1 RoPE frequency rescaling (Meta's reference `apply_scaling`). Equal to dividing each
    /// frequency by the factor llama.cpp's converter stores in `rope_freqs.weight`: 1 above the high-frequency
    /// wavelength bound, `factor` below the low one, 1 / ((1 - smooth) / factor + smooth) between.
    static func llama3Scaling(_ s: ModelConfig.RopeScaling) -> (Double) -> Double {
        { freq in
            let wavelen = 2 * Double.pi / freq
            let lowWavelen = s.originalMaxPositionEmbeddings / s.lowFreqFactor
            let highWavelen = s.originalMaxPositionEmbeddings / s.highFreqFactor
            if wavelen < highWavelen { return freq }
            if wavelen > lowWavelen { return freq / s.factor }
            let smooth =
                (s.originalMaxPositionEmbeddings / wavelen - s.lowFreqFactor) / (s.highFreqFactor - s.lowFreqFactor)
            return (1 - smooth) * freq / s.factor + smooth * freq
        }
    }

    public var numParameters: Int {
        let head = lmHead.data == embedTokens.data ? 0 : lmHead.numElements
        return embedTokens.numElements + head + norm.count + layers.reduce(0) { $0 + $1.numParameters }
    }

    public var projectionDType: DType { layers.first?.qProj.dtype ?? embedTokens.dtype }

    public var numWeightBytes: Int {
        let head = lmHead.data == embedTokens.data ? 0 : lmHead.byteCount
        return embedTokens.byteCount + head + layers.reduce(0) { $0 + $1.numBytes }
    }

    public func forward(_ batch: ForwardBatch, cache: PagedKVCache) -> [Float] {
        let c = config
        let rows = batch.numRows
        precondition(rows > 0, "empty batch")
        precondition(cache.kvDim == c.kvDim && cache.numLayers == c.numHiddenLayers, "cache does not fit the model")
        let x = FloatBuffer(count: rows * c.hiddenSize)
        for (row, token) in batch.tokenIDs.enumerated() {
            precondition(token >= 0 && token < c.vocabSize, "token id out of range")
            embedTokens.copyRow(token, to: x.pointer + row * c.hiddenSize)
        }
        let scratch = LayerScratch(rows: rows, config: c)
        let (rotary, table) = (rotary, scratch.rotaryTable.pointer)
        forRows(rows) { r in rotary.fillTable(position: batch.positions[r], into: table + r * c.headDim) }
        for (index, layer) in layers.enumerated() {
            runLayer(layer, index: index, x: x, batch: batch, cache: cache, s: scratch)
        }
        return logits(x: x, rows: batch.logitRows)
    }

    /// Activations of one layer, reused across layers.
    final class LayerScratch {
        let h, q, k, v, attention, residual: FloatBuffer
        /// Each row's rotary cosines and sines (`Rotary.fillTable`), shared by every layer.
        let rotaryTable: FloatBuffer
        init(rows: Int, config c: ModelConfig) {
            rotaryTable = FloatBuffer(count: rows * c.headDim)
            h = FloatBuffer(count: rows * c.hiddenSize)
            q = FloatBuffer(count: rows * c.numAttentionHeads * c.headDim)
            k = FloatBuffer(count: rows * c.kvDim)
            v = FloatBuffer(count: rows * c.kvDim)
            attention = FloatBuffer(count: rows * c.numAttentionHeads * c.headDim)
            residual = FloatBuffer(count: rows * c.hiddenSize)
        }
    }

    private func runLayer(
        _ layer: DecoderLayer, index: Int, x: FloatBuffer, batch: ForwardBatch, cache: PagedKVCache, s: LayerScratch
    ) {
        let c = config
        let rows = batch.numRows
        let hidden = c.hiddenSize
        // Attention block: h = norm(x); q,k,v = h·Wᵀ + b; rope; store KV; attend; x += o_proj(attn).
        // The row-wise steps run in row ranges on every thread in prefill (`forRows`).
        forRows(rows) { r in
            Elementwise.rmsNorm(
                x.pointer + r * hidden, weight: layer.inputLayernorm, eps: c.rmsNormEps, out: s.h.pointer + r * hidden,
                count: hidden)
        }
        layer.qBias.withPointer { qBias in
            layer.kBias.withPointer { kBias in
                layer.vBias.withPointer { vBias in
                    MatMul.linear(
                        x: s.h.pointer, m: rows,
                        products: [
                            .init(weight: layer.qProj, bias: qBias, out: s.q.pointer),
                            .init(weight: layer.kProj, bias: kBias, out: s.k.pointer),
                            .init(weight: layer.vProj, bias: vBias, out: s.v.pointer),
                        ], pool: pool)
                }
            }
        }
        let qDim = c.numAttentionHeads * c.headDim
        let rotary = rotary
        forRows(rows) { r in
            rotary.apply(
                queries: s.q.pointer + r * qDim, numHeads: c.numAttentionHeads, keys: s.k.pointer + r * c.kvDim,
                numKVHeads: c.numKeyValueHeads, table: s.rotaryTable.pointer + r * c.headDim)
            cache.store(
                keys: s.k.pointer + r * c.kvDim, values: s.v.pointer + r * c.kvDim, layer: index,
                slot: batch.slotMapping[r])
        }
        PagedAttention.run(
            q: s.q.pointer, out: s.attention.pointer, batch: batch, cache: cache, layer: index,
            numHeads: c.numAttentionHeads, pool: pool)
        MatMul.linear(
            x: s.attention.pointer, m: rows, weight: layer.oProj, bias: layer.oBias, out: s.residual.pointer, pool: pool
        )
        // Feed-forward block: x += mlp(norm(x)), the residual added and the norm taken row by row.
        forRows(rows) { r in
            Vector.axpy(1, s.residual.pointer + r * hidden, x.pointer + r * hidden, hidden)
            Elementwise.rmsNorm(
                x.pointer + r * hidden, weight: layer.postAttentionLayernorm, eps: c.rmsNormEps,
                out: s.h.pointer + r * hidden, count: hidden)
        }
        layer.mlp.forward(s.h.pointer, rows: rows, out: s.residual.pointer, pool: pool)
        forRows(rows) { r in Vector.axpy(1, s.residual.pointer + r * hidden, x.pointer + r * hidden, hidden) }
    }

    /// `body(r)` for every row r < rows: in ranges across the pool from 2 × `minRowsPerRange`
    /// rows (prefill and batched decode; the other threads would wait otherwise), else here.
    private func forRows(_ rows: Int, _ body: @escaping (Int) -> Void) {
        pool.parallelRanges(rows, minChunk: KernelPool.minRowsPerRange) { range in
            for r in range { body(r) }
        }
    }

    /// Final norm and LM head for the requested rows → [rows.count, vocab].
    private func logits(x: FloatBuffer, rows: [Int]) -> [Float] {
        let hidden = config.hiddenSize
        let normed = FloatBuffer(count: rows.count * hidden)
        for (i, r) in rows.enumerated() {
            Elementwise.rmsNorm(
                x.pointer + r * hidden, weight: norm, eps: config.rmsNormEps, out: normed.pointer + i * hidden,
                count: hidden)
        }
        // `linear` writes every logit, so the array is not zeroed first (16 rows: 9.8 MB a step).
        let count = rows.count * config.vocabSize
        return [Float](unsafeUninitializedCapacity: count) { out, initialized in
            if let o = out.baseAddress {
                MatMul.linear(x: normed.pointer, m: rows.count, weight: lmHead, out: o, pool: pool)
            }
            initialized = count
        }
    }
}

extension Optional where Wrapped == [Float] {
    /// `body` with the array's base address, or nil.
    func withPointer<R>(_ body: (UnsafePointer<Float>?) -> R) -> R {
        guard let array = self else { return body(nil) }
        return array.withUnsafeBufferPointer { body($0.baseAddress) }
    }
}
