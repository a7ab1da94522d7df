/// Per-request block tables over the `BlockPool`, and the prefix cache lookups and registrations: the
/// scheduler asks it for room before scheduling tokens and hands back a request's blocks when it stops.
///
/// Owned by one engine loop thread. Invariants: a request's block table covers at least its computed plus
/// scheduled tokens; its first `numCachedBlocks` blocks are registered in the prefix cache (or were
/// duplicates of registered ones); every block in a table holds one reference for that table.
struct KVCacheManager {
    let blockSize: Int
    let enablePrefixCaching: Bool
    private(set) var pool: BlockPool
    private(set) var blockTables: [String: [Int]] = [:]
    private var numCachedBlocksByRequest: [String: Int] = [:]
    /// Prompt tokens looked up in the prefix cache (at each admission, including resumptions).
    private(set) var numQueriedTokens = 0
    /// Of those, tokens served from cached blocks.
    private(set) var numHitTokens = 0

    init(numBlocks: Int, blockSize: Int, enablePrefixCaching: Bool) {
        self.blockSize = blockSize
        self.enablePrefixCaching = enablePrefixCaching
        self.pool = BlockPool(numBlocks: numBlocks)
    }

    /// The request's block table (empty if it holds none).
    func blockTable(_ requestID: String) -> [Int] { blockTables[requestID] ?? [] }

    /// Number of leading blocks of the request registered in the prefix cache.
    func numCachedBlocks(_ requestID: String) -> Int { numCachedBlocksByRequest[requestID] ?? 0 }

    /// Cached blocks of the longest cached prefix of a sequence of `numTokens` tokens whose full blocks have
    /// `blockHashes`. Never covers the last token, which must be computed to have logits to sample.
    func computedBlocks(blockHashes: [BlockHash], numTokens: Int) -> [Int] {
        guard enablePrefixCaching else { return [] }
        let maxBlocks = min(blockHashes.count, (numTokens - 1) / blockSize)
        var blocks: [Int] = []
        for hash in blockHashes.prefix(maxBlocks) {
            guard let block = pool.cachedBlock(for: hash) else { break }
            blocks.append(block)
        }
        return blocks
    }

    /// Reserves blocks so the request can hold `numComputedTokens` (already in its table) plus the tokens of
    /// `newComputedBlocks` (prefix hits, appended first) plus `numNewTokens`. Returns the block ids appended
    /// to its table (hits first), or nil, changing nothing, when the free blocks do not suffice.
    mutating func allocateSlots(
        requestID: String, numComputedTokens: Int, numNewTokens: Int, newComputedBlocks: [Int] = []
    ) -> [Int]? {
        let table = blockTables[requestID] ?? []
        let numTokens = numComputedTokens + newComputedBlocks.count * blockSize + numNewTokens
        let numRequired = (numTokens + blockSize - 1) / blockSize
        let numToAllocate = max(0, numRequired - table.count - newComputedBlocks.count)
        let numEvictableHits = newComputedBlocks.filter { pool.refCounts[$0] == 0 }.count
        guard numToAllocate <= pool.numFreeBlocks - numEvictableHits else { return nil }
        pool.touch(newComputedBlocks)
        guard let fresh = pool.allocate(numToAllocate) else {
            preconditionFailure("free block count changed during allocation")
        }
        if table.isEmpty { numCachedBlocksByRequest[requestID] = newComputedBlocks.count }
        let appended = newComputedBlocks + fresh
        blockTables[requestID, default: []].append(contentsOf: appended)
        return appended
    }

    /// Registers the request's full blocks whose tokens are all computed (`numComputedTokens`) in the
    /// prefix cache. A block whose prefix is already cached elsewhere stays private.
    mutating func cacheFullBlocks(requestID: String, blockHashes: [BlockHash], numComputedTokens: Int) {
        guard enablePrefixCaching, let table = blockTables[requestID] else { return }
        let numFull = min(numComputedTokens / blockSize, blockHashes.count, table.count)
        let numCached = numCachedBlocksByRequest[requestID] ?? 0
        guard numFull > numCached else { return }
        for index in numCached..<numFull {
            pool.cache(table[index], as: blockHashes[index])
        }
        numCachedBlocksByRequest[requestID] = numFull
    }

    /// Counts one prefix-cache lookup for the metrics.
    mutating func recordPrefixQuery(numTokens: Int, numHitTokens hits: Int) {
        guard enablePrefixCaching else { return }
        numQueriedTokens += numTokens
        numHitTokens += hits
    }

    /// Releases all the request's blocks, last block first so that a sequence's tail is evicted before its
    /// (more shareable) head.
    mutating func free(requestID: String) {
        guard let table = blockTables.removeValue(forKey: requestID) else { return }
        numCachedBlocksByRequest[requestID] = nil
        pool.free(table.reversed())
    }

    /// Forgets cached prefixes of free blocks.
    mutating func resetPrefixCache() { pool.resetPrefixCache() }
}
