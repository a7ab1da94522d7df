import Foundation
import Models
import Tensors

/// Prefill and decode throughput of one loaded model on one kernel pool,
/// driving `forward` over a paged KV cache the way a worker does.
struct ModelRuns {
    let model: any CausalLM
    /// Element type of the KV cache (`--kv-cache-dtype`, f16 by default as in the server and llama.cpp).
    let kvCacheDType: DType
    let blockSize = 16

    /// Multiply-adds ×2 of the linear layers for one token (LM head excluded).
    var linearFLOPsPerToken: Double {
        let c = model.config
        let qDim = c.numAttentionHeads * c.headDim
        let attention = 2 * c.hiddenSize * qDim + 2 * c.hiddenSize * c.kvDim
        let mlp = 3 * c.hiddenSize * c.intermediateSize
        return 2 * Double(c.numHiddenLayers * (attention + mlp))
    }

    var lmHeadFLOPs: Double { 2 * Double(model.config.vocabSize * model.config.hiddenSize) }

    /// Whether a forward pass of `numRows` rows runs int8 dot products rather than f32 FMAs:
    /// Q8_0 / Q4_0 and the repacked Q8_0x16 / Q4_0x16 / Q4_Kx8 / Q6_Kx8 projections always, Q4_K / Q6_K
    /// below the prefill threshold (`MatMul`'s routing).
    func usesIntegerDots(numRows: Int) -> Bool {
        let dtype = model.projectionDType
        return dtype.hasInt8Kernels || (dtype.isKQuant && numRows < MatMul.packedRowsThreshold)
    }

    /// FLOPs of a `length`-token prefill (causal attention scores and sums included, one LM-head row).
    func prefillFLOPs(length: Int) -> Double {
        let c = model.config
        let pairs = Double(length) * Double(length + 1) / 2
        let attention = 4 * Double(c.numHiddenLayers * c.numAttentionHeads * c.headDim) * pairs
        return linearFLOPsPerToken * Double(length) + attention + lmHeadFLOPs
    }

    /// Deterministic pseudo-random token ids.
    func tokens(_ count: Int, seed: Int) -> [Int] {
        (0..<count).map { i in (i &* 7919 &+ seed &* 104_729) % model.config.vocabSize }
    }

    /// Seconds for one prefill of `length` tokens (best of `repetitions`, each in a fresh cache);
    /// `beforeEach` runs before each repetition, outside the timing.
    func prefillSeconds(length: Int, repetitions: Int, numThreads: Int, beforeEach: () -> Void) -> Timing {
        let numBlocks = (length + blockSize - 1) / blockSize
        var best = Timing()
        for rep in 0..<repetitions {
            let cache = PagedKVCache(
                config: model.config, numBlocks: numBlocks, blockSize: blockSize, dtype: kvCacheDType)
            var batch = ForwardBatch()
            batch.append(
                tokens: tokens(length, seed: rep), startPosition: 0, blockTable: Array(0..<numBlocks),
                blockSize: blockSize)
            beforeEach()
            best.measure(numThreads: numThreads) { _ = model.forward(batch, cache: cache) }
        }
        return best
    }

    /// Seconds per decode step of `numSequences` sequences after a `context`-token prompt each
    /// (best of `repetitions` runs of `steps` steps, after one warm-up step); `beforeEach` runs
    /// before each repetition, outside the timing.
    func decodeStepSeconds(
        numSequences: Int, context: Int, steps: Int, repetitions: Int, numThreads: Int, beforeEach: () -> Void
    ) -> Timing {
        let maxTokens = context + 1 + steps * repetitions
        let blocksPerSequence = (maxTokens + blockSize - 1) / blockSize
        let cache = PagedKVCache(
            config: model.config, numBlocks: blocksPerSequence * numSequences, blockSize: blockSize,
            dtype: kvCacheDType)
        let tables = (0..<numSequences).map { s in Array(s * blocksPerSequence..<(s + 1) * blocksPerSequence) }
        var prompt = ForwardBatch()
        for s in 0..<numSequences {
            prompt.append(
                tokens: tokens(context, seed: s), startPosition: 0, blockTable: tables[s], blockSize: blockSize)
        }
        _ = model.forward(prompt, cache: cache)
        var position = context
        func step() {
            var batch = ForwardBatch()
            for s in 0..<numSequences {
                batch.append(
                    tokens: [tokens(1, seed: position + s)[0]], startPosition: position, blockTable: tables[s],
                    blockSize: blockSize)
            }
            _ = model.forward(batch, cache: cache)
            position += 1
        }
        step()  // warm-up
        var best = Timing()
        for _ in 0..<repetitions {
            beforeEach()
            best.measure(numThreads: numThreads, divisor: Double(steps)) {
                for _ in 0..<steps { step() }
            }
        }
        return best
    }
}
