import Tensors

/// Causal grouped-query attention of a batch's rows over the paged KV cache
/// (Kwon et al., "PagedAttention", arXiv:2309.06180).
///
/// Row r (at position p of its sequence) attends to positions 0...p of the
/// same sequence; query head h reads KV head h / (numHeads / numKVHeads).
/// One task is a tile of up to `maxTileRows` rows of one sequence against one
/// KV head, with all of that head's query heads: the tile's K and V rows are
/// read once from the cache for all its queries and stay in L2 between them.
enum PagedAttention {
    static let maxTileRows = 16

    // q [rows, numHeads·headDim], `layer` of `cache` -> out [rows, numHeads·headDim]
    static func run(
        q: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>, batch: ForwardBatch, cache: PagedKVCache,
        layer: Int, numHeads: Int, pool: KernelPool
    ) {
        let (numKVHeads, headDim) = (cache.numKVHeads, cache.headDim)
        precondition(numHeads % numKVHeads == 0, "\(numHeads) query heads over \(numKVHeads) KV heads")
        let qDim = numHeads * headDim
        let group = numHeads / numKVHeads
        let scale = 1 / Float(headDim).squareRoot()
        var tiles: [(sequence: Int, rows: Range<Int>)] = []
        for (index, sequence) in batch.sequences.enumerated() {
            let end = sequence.firstRow + sequence.numRows
            for first in stride(from: sequence.firstRow, to: end, by: maxTileRows) {
                tiles.append((index, first..<min(first + maxTileRows, end)))
            }
        }
        pool.parallelFor(tiles.count * numKVHeads) { task in
            let tile = tiles[task / numKVHeads]
            let kvHead = task % numKVHeads
            var queries: [UnsafePointer<Float>?] = []
            var outs: [UnsafeMutablePointer<Float>?] = []
            var numContext: [Int64] = []
            for row in tile.rows {
                for head in kvHead * group..<(kvHead + 1) * group {
                    queries.append(q + row * qDim + head * headDim)
                    outs.append(out + row * qDim + head * headDim)
                    numContext.append(Int64(batch.positions[row] + 1))
                }
            }
            Attention.run(
                queries: queries, outs: outs, numContext: numContext, keys: cache.keys(layer: layer, kvHead: kvHead),
                values: cache.values(layer: layer, kvHead: kvHead), cacheDType: cache.dtype, kvStride: headDim,
                blockTable: batch.sequences[tile.sequence].blockTable,
                blockSize: cache.blockSize, headDim: headDim, scale: scale)
        }
    }
}
