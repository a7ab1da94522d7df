import Tensors

/// Physical key/value storage of one worker: per layer, keys and values as
/// `[numKVHeads, numBlocks × blockSize, headDim]` in `dtype` (f16 by default in
/// serving, as llama.cpp keeps it; f32 or bf16 on request), addressed by KV head
/// and slot (`block × blockSize + offset`). Attention widens rows to f32 as it
/// reads them.
///
/// Each KV head's rows are contiguous, so attention, which reads one head at a
/// time, streams them; with the heads of a slot side by side it read 256 B of
/// every 1,536 (1B shape), and decode attention over a long context ran at
/// 0.6-0.75× the speed (C harness, 26 layers from memory).
///
/// The storage is in 2 MiB pages where the kernel allows (`HeapStorage`'s
/// `hugePages`): a head's rows are 4 KiB per block of 16 f16 rows and the blocks
/// are scattered, so with 4 KiB pages each block cost a TLB miss. Decode attention
/// over 26 layers × 16 sequences at context 512 (C harness, one Zen 5 core):
/// 47.8 → 43.4 ms per step over shuffled blocks, 29.8 → 27.4 over contiguous ones.
/// (Weights stay in 4 KiB pages: their kernels prefetch them, and huge pages
/// measured no faster there; `docs/benchmarks.md`.)
///
/// The engine owns block accounting; the cache only stores. A contiguous
/// per-sequence cache is the special case of a block table `0, 1, 2, …`.
public final class PagedKVCache: @unchecked Sendable {
    public let numLayers: Int
    public let numBlocks: Int
    public let blockSize: Int
    /// numKVHeads × headDim.
    public let kvDim: Int
    public let numKVHeads: Int
    /// Element type of the stored keys and values: f32, f16 or bf16.
    public let dtype: DType
    private let storage: HeapStorage

    public init(
        numLayers: Int, numBlocks: Int, blockSize: Int, kvDim: Int, numKVHeads: Int, dtype: DType = .f32
    ) {
        precondition(numLayers > 0 && numBlocks > 0 && blockSize > 0 && kvDim > 0, "empty KV cache")
        precondition(numKVHeads > 0 && kvDim % numKVHeads == 0, "kvDim \(kvDim) is not \(numKVHeads) heads")
        precondition(DType.floatingPointCases.contains(dtype), "a KV cache holds f32, f16 or bf16, not \(dtype)")
        self.numLayers = numLayers
        self.numBlocks = numBlocks
        self.blockSize = blockSize
        self.kvDim = kvDim
        self.numKVHeads = numKVHeads
        self.dtype = dtype
        self.storage = HeapStorage(
            byteCount: 2 * numLayers * numBlocks * blockSize * kvDim * dtype.byteSize, hugePages: true)
    }

    /// A cache sized for `config`.
    public convenience init(config: ModelConfig, numBlocks: Int, blockSize: Int, dtype: DType = .f32) {
        self.init(
            numLayers: config.numHiddenLayers, numBlocks: numBlocks, blockSize: blockSize, kvDim: config.kvDim,
            numKVHeads: config.numKeyValueHeads, dtype: dtype)
    }

    public var numSlots: Int { numBlocks * blockSize }
    public var byteCount: Int { storage.byteCount }
    public var headDim: Int { kvDim / numKVHeads }
    /// Bytes from one KV head's rows to the next's.
    public var headBytes: Int { numSlots * headDim * dtype.byteSize }

    /// Keys of `layer`, `kvHead`: [numSlots, headDim] of `dtype`.
    public func keys(layer: Int, kvHead: Int = 0) -> UnsafeRawPointer {
        UnsafeRawPointer(rows(2 * layer) + kvHead * headBytes)
    }

    /// Values of `layer`, `kvHead`: [numSlots, headDim] of `dtype`.
    public func values(layer: Int, kvHead: Int = 0) -> UnsafeRawPointer {
        UnsafeRawPointer(rows(2 * layer + 1) + kvHead * headBytes)
    }

    /// Stores one token's keys and values (kvDim f32 each, head after head) of `layer` at `slot`,
    /// rounded to `dtype`.
    public func store(keys: UnsafePointer<Float>, values: UnsafePointer<Float>, layer: Int, slot: Int) {
        precondition(slot >= 0 && slot < numSlots, "slot out of range")
        let offset = slot * headDim * dtype.byteSize
        for head in 0..<numKVHeads {
            let at = head * headBytes + offset
            Self.round(keys + head * headDim, into: rows(2 * layer) + at, count: headDim, dtype: dtype)
            Self.round(values + head * headDim, into: rows(2 * layer + 1) + at, count: headDim, dtype: dtype)
        }
    }

    private func rows(_ index: Int) -> UnsafeMutableRawPointer {
        storage.pointer + index * numSlots * kvDim * dtype.byteSize
    }

    private static func round(_ src: UnsafePointer<Float>, into dst: UnsafeMutableRawPointer, count: Int, dtype: DType)
    {
        switch dtype {
        case .f16:
            // Saturated at ±65,504 rather than rounded to infinity: attention multiplies the rows
            // past a query's context by a zero score, and 0 · ∞ would make its output NaN.
            let out = dst.assumingMemoryBound(to: Float16.self)
            for i in 0..<count { out[i] = Float16(src[i].isNaN ? src[i] : min(max(src[i], -65_504), 65_504)) }
        case .bf16:
            let out = dst.assumingMemoryBound(to: UInt16.self)
            for i in 0..<count { out[i] = Precision.floatToBF16(src[i]) }
        default:
            dst.assumingMemoryBound(to: Float.self).update(from: src, count: count)
        }
    }

    /// The slot of `position` in a sequence with `blockTable`.
    @inlinable public func slot(position: Int, blockTable: [Int]) -> Int {
        blockTable[position / blockSize] * blockSize + position % blockSize
    }
}
