import Foundation
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
            let blockTable = batch.sequences[rowSequence[row]].blockTable
            let numContext = batch.positions[row] + 1
            let qRow = q + row * qDim + head * headDim
            let outRow = out + row * qDim + head * headDim
            outRow.initialize(repeating: 0, count: headDim)
            withUnsafeTemporaryAllocation(of: Float.self, capacity: numContext) { buffer in
                guard let scores = buffer.baseAddress else { return }
                for pos in 0..<numContext {
                    let slot = blockTable[pos / blockSize] * blockSize + pos % blockSize
                    scores[pos] = Vector.dot(qRow, keys + slot * kvDim + kvOffset, headDim) * scale
                }
                Elementwise.softmax(scores, count: numContext)
                for pos in 0..<numContext {
                    let slot = blockTable[pos / blockSize] * blockSize + pos % blockSize
                    Vector.axpy(scores[pos], values + slot * kvDim + kvOffset, outRow, headDim)
                }
            }
        }
    }
}
