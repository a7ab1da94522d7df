import Testing

@testable import Engine

@Suite struct BlockPoolTests {
    @Test("allocation takes free blocks and freeing returns them with zero reference counts")
    func allocateAndFree() throws {
        var pool = BlockPool(numBlocks: 4)
        let first = try unwrap(pool.allocate(3))
        #expect(first == [0, 1, 2])
        #expect(pool.numFreeBlocks == 1)
        #expect(pool.allocate(2) == nil)
        #expect(pool.numFreeBlocks == 1)
        pool.free(first)
        #expect(pool.numFreeBlocks == 4)
        #expect(pool.refCounts == [0, 0, 0, 0])
        #expect(pool.usage == 0)
    }

    @Test("a touched block needs as many frees as references")
    func referenceCounts() throws {
        var pool = BlockPool(numBlocks: 2)
        let blocks = try unwrap(pool.allocate(1))
        pool.touch(blocks)
        #expect(pool.refCounts[blocks[0]] == 2)
        pool.free(blocks)
        #expect(pool.numFreeBlocks == 1)
        pool.free(blocks)
        #expect(pool.numFreeBlocks == 2)
    }

    @Test("cached free blocks are evicted least recently freed first")
    func lruEviction() throws {
        var pool = BlockPool(numBlocks: 3)
        let blocks = try unwrap(pool.allocate(3))
        let hashes = (0..<3).map { BlockHash(parent: nil, tokenIDs: ArraySlice([$0, $0])) }
        for (block, hash) in zip(blocks, hashes) {
            let registered = pool.cache(block, as: hash)
            #expect(registered)
        }
        pool.free([blocks[2]])
        pool.free([blocks[0]])
        pool.free([blocks[1]])
        // Touching a cached free block takes it out of the free queue.
        #expect(pool.cachedBlock(for: hashes[0]) == blocks[0])
        pool.touch([blocks[0]])
        #expect(pool.numFreeBlocks == 2)
        let evicted = try unwrap(pool.allocate(1))
        #expect(evicted == [blocks[2]])
        #expect(pool.cachedBlock(for: hashes[2]) == nil)
        #expect(pool.cachedBlock(for: hashes[1]) == blocks[1])
        #expect(pool.cachedBlock(for: hashes[0]) == blocks[0])
    }

    @Test("a hash is registered on one block only")
    func duplicateHash() throws {
        var pool = BlockPool(numBlocks: 2)
        let blocks = try unwrap(pool.allocate(2))
        let hash = BlockHash(parent: nil, tokenIDs: ArraySlice([7]))
        let first = pool.cache(blocks[0], as: hash)
        let second = pool.cache(blocks[1], as: hash)
        #expect(first && !second)
        #expect(pool.hash(of: blocks[1]) == nil)
    }

    @Test("block hashes chain over the whole prefix")
    func hashChain() {
        let a = BlockHash.extend([], tokenIDs: [1, 2, 3, 4, 5], blockSize: 2)
        let b = BlockHash.extend([], tokenIDs: [9, 9, 3, 4], blockSize: 2)
        #expect(a.count == 2)
        #expect(a[1].tokenIDs == b[1].tokenIDs)
        #expect(a[1] != b[1])
        #expect(BlockHash.extend(Array(a.prefix(1)), tokenIDs: [1, 2, 3, 4], blockSize: 2) == a)
    }

    @Test("numBlocks divides the KV budget into whole blocks")
    func numBlocksHelper() {
        #expect(EngineConfig.numBlocks(kvCacheBytes: 1 << 20, bytesPerToken: 1024, blockSize: 16) == 64)
        #expect(EngineConfig.numBlocks(kvCacheBytes: 1000, bytesPerToken: 1024) == 0)
    }
}

@Suite struct KVCacheManagerTests {
    @Test("slots grow the block table one block per blockSize tokens")
    func allocateSlots() throws {
        var manager = KVCacheManager(numBlocks: 4, blockSize: 4, enablePrefixCaching: true)
        let first = try unwrap(manager.allocateSlots(requestID: "a", numComputedTokens: 0, numNewTokens: 5))
        #expect(first.count == 2)
        let none = try unwrap(manager.allocateSlots(requestID: "a", numComputedTokens: 5, numNewTokens: 3))
        #expect(none.isEmpty)
        #expect(manager.allocateSlots(requestID: "a", numComputedTokens: 8, numNewTokens: 9) == nil)
        #expect(manager.blockTable("a").count == 2)
        manager.free(requestID: "a")
        #expect(manager.pool.numFreeBlocks == 4)
    }

    @Test("a computed prefix is found again but never the last token")
    func prefixLookup() throws {
        var manager = KVCacheManager(numBlocks: 8, blockSize: 4, enablePrefixCaching: true)
        let tokens = Array(0..<12)
        let hashes = BlockHash.extend([], tokenIDs: tokens, blockSize: 4)
        _ = try unwrap(manager.allocateSlots(requestID: "a", numComputedTokens: 0, numNewTokens: 12))
        manager.cacheFullBlocks(requestID: "a", blockHashes: hashes, numComputedTokens: 12)
        // Same 12 tokens: only 2 blocks may be reused (the last token is computed again).
        let hits = manager.computedBlocks(blockHashes: hashes, numTokens: 12)
        #expect(hits == Array(manager.blockTable("a").prefix(2)))
        let longer = BlockHash.extend([], tokenIDs: tokens + [99], blockSize: 4)
        #expect(manager.computedBlocks(blockHashes: longer, numTokens: 13).count == 3)
        manager.free(requestID: "a")
        let reused = try unwrap(
            manager.allocateSlots(requestID: "b", numComputedTokens: 0, numNewTokens: 1, newComputedBlocks: hits)
        )
        #expect(reused.prefix(2) == hits.prefix(2))
        #expect(manager.pool.refCounts[hits[0]] == 1)
    }
}

/// Unwraps a value produced by a mutating call (which `#require` cannot capture).
func unwrap<T>(_ value: T?, sourceLocation: SourceLocation = #_sourceLocation) throws -> T {
    try #require(value, sourceLocation: sourceLocation)
}
