import Tensors

/// Physical key/value storage of one worker: per layer, keys and values as
/// `[numBlocks, blockSize, numKVHeads, headDim]` f32, addressed by slot
/// (`block × blockSize + offset`).
///
/// The engine owns block accounting; the cache only stores. A contiguous
/// per-sequence cache is the special case of a block table `0, 1, 2, …`.
public final class PagedKVCache: @unchecked Sendable {
    public let numLayers: Int
    public let numBlocks: Int
    public let blockSize: Int
    /// numKVHeads × headDim.
    public let kvDim: Int
    private let storage: HeapStorage

    public init(numLayers: Int, numBlocks: Int, blockSize: Int, kvDim: Int) {
        precondition(numLayers > 0 && numBlocks > 0 && blockSize > 0 && kvDim > 0, "empty KV cache")
        self.numLayers = numLayers
        self.numBlocks = numBlocks
        self.blockSize = blockSize
        self.kvDim = kvDim
        self.storage = HeapStorage(byteCount: 2 * numLayers * numBlocks * blockSize * kvDim * 4)
    }

    /// A cache sized for `config`.
    public convenience init(config: ModelConfig, numBlocks: Int, blockSize: Int) {
        self.init(numLayers: config.numHiddenLayers, numBlocks: numBlocks, blockSize: blockSize, kvDim: config.kvDim)
    }

    public var numSlots: Int { numBlocks * blockSize }
    public var byteCount: Int { storage.byteCount }

    /// Keys of `layer`: [numSlots, kvDim].
    public func keys(layer: Int) -> UnsafeMutablePointer<Float> {
        storage.pointer.assumingMemoryBound(to: Float.self) + (2 * layer) * numSlots * kvDim
    }

    /// Values of `layer`: [numSlots, kvDim].
    public func values(layer: Int) -> UnsafeMutablePointer<Float> {
        storage.pointer.assumingMemoryBound(to: Float.self) + (2 * layer + 1) * numSlots * kvDim
    }

    /// The slot of `position` in a sequence with `blockTable`.
    @inlinable public func slot(position: Int, blockTable: [Int]) -> Int {
        blockTable[position / blockSize] * blockSize + position % blockSize
    }
}
