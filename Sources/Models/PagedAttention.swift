import Tensors

/// Causal grouped-query attention of a batch's rows over the paged KV cache
/// (Kwon et al., "PagedAttention", arXiv:2309.06180).
///
/// Row r (at position p of its sequence) attends to positions 0...p of the
/// same sequence; query head h reads KV head h / (numHeads / numKVHeads).
enum PagedAttention {
    // q [rows, numHeads·headDim], K/V cache [slots, numKVHeads·headDim] -> out [rows, numHeads·headDim]
    static func run(
        q: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>, batch: ForwardBatch, rowSequence: [Int],
        keys: UnsafePointer<Float>, values: UnsafePointer<Float>, blockSize: Int,
        numHeads: Int, numKVHeads: Int, headDim: Int, pool: KernelPool
    ) {
        let qDim = numHeads * headDim
        let kvDim = numKVHeads * headDim
        let group = numHeads / numKVHeads
        let scale = 1 / Float(headDim).squareRoot()
        pool.parallelFor(batch.numRows * numHeads) { task in
            let row = task / numHeads
            let head = task % numHeads
            let kvOffset = (head / group) * headDim
            let numContext = batch.positions[row] + 1
            Attention.head(
                q: q + row * qDim + head * headDim, keys: keys + kvOffset, values: values + kvOffset,
                kvStride: kvDim, blockTable: batch.sequences[rowSequence[row]].blockTable, blockSize: blockSize,
                numContext: numContext, headDim: headDim, scale: scale, out: out + row * qDim + head * headDim)
        }
    }
}
