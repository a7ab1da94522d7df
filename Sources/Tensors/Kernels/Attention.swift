import CKernels

/// One query head's attention over a paged KV cache (the inner loop of
/// `PagedAttention`), vectorised in `CKernels`.
public enum Attention {
    /// out[0..<headDim] = Σ_p softmax_p(scale · q·K[slot(p)]) · V[slot(p)] over positions
    /// p < numContext, slot(p) = blockTable[p / blockSize] · blockSize + p % blockSize;
    /// `keys` and `values` point at this head's first column, rows `kvStride` apart.
    @inlinable
    public static func head(
        q: UnsafePointer<Float>, keys: UnsafePointer<Float>, values: UnsafePointer<Float>, kvStride: Int,
        blockTable: [Int], blockSize: Int, numContext: Int, headDim: Int, scale: Float,
        out: UnsafeMutablePointer<Float>
    ) {
        precondition(blockTable.count * blockSize >= numContext, "block table shorter than the context")
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 3 * numContext + 2) { scratch in
            blockTable.withUnsafeBufferPointer { table in
                table.withMemoryRebound(to: Int64.self) { table64 in
                    pg_attention_head(
                        q, keys, values, Int64(kvStride), table64.baseAddress, Int64(blockSize), Int64(numContext),
                        Int64(headDim), scale, scratch.baseAddress, out)
                }
            }
        }
    }
}
