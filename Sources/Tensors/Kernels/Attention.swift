import CKernels

/// Attention of several query vectors over one KV head of a paged cache (the
/// inner loop of `PagedAttention`), vectorised in `CKernels`.
public enum Attention {
    /// outs[i][0..<headDim] = Σ_p softmax_p(scale · queries[i]·K[slot(p)]) · V[slot(p)] over positions
    /// p < numContext[i], slot(p) = blockTable[p / blockSize] · blockSize + p % blockSize;
    /// `keys` and `values` point at this KV head's first column, stored as `cacheDType` (f32, f16
    /// or bf16), rows `kvStride` elements apart.
    /// All queries read the same sequence, so each K and V row loaded serves several.
    @inlinable
    public static func run(
        queries: [UnsafePointer<Float>?], outs: [UnsafeMutablePointer<Float>?], numContext: [Int64],
        keys: UnsafeRawPointer, values: UnsafeRawPointer, cacheDType: DType = .f32, kvStride: Int,
        blockTable: [Int], blockSize: Int, headDim: Int, scale: Float
    ) {
        precondition(DType.floatingPointCases.contains(cacheDType), "a KV cache holds f32, f16 or bf16")
        precondition(queries.count == outs.count && queries.count == numContext.count, "one context per query")
        precondition(numContext.allSatisfy { $0 >= 1 }, "every query sees at least its own position")
        precondition(blockTable.count * blockSize >= Int(numContext.max() ?? 0), "block table shorter than the context")
        let byteCount = pg_attention_scratch_bytes(numContext, Int64(numContext.count), Int64(headDim))
        withUnsafeTemporaryAllocation(byteCount: byteCount, alignment: 64) { scratch in
            blockTable.withUnsafeBufferPointer { table in
                table.withMemoryRebound(to: Int64.self) { table64 in
                    pg_attention(
                        queries, outs, numContext, Int64(queries.count), keys, values, MatMul.dtypeCode(cacheDType),
                        Int64(kvStride),
                        table64.baseAddress, Int64(blockSize), Int64(headDim), scale, scratch.baseAddress)
                }
            }
        }
    }
}
