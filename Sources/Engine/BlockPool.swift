/// The paged KV cache's block accounting: which of the worker's `numBlocks` blocks are in use, by how many
/// requests (reference counts), and which free blocks still hold a cached prefix.
///
/// Owned by one engine loop thread. Invariants:
/// - a block is in the free queue exactly when its reference count is 0;
/// - the free queue is least-recently-freed first; allocation takes from its head, so cached blocks are
///   evicted least-recently-used;
/// - a block has a hash only while registered in `cachedBlocks`, and each hash maps to one block.
/// The storage behind a block id is the worker's; the engine only counts.
struct BlockPool {
    /// Number of blocks the worker holds.
    let numBlocks: Int
    /// Requests (or prefix-cache users) holding each block.
    private(set) var refCounts: [Int]
    private var hashes: [BlockHash?]
    private var cachedBlocks: [BlockHash: Int] = [:]
    // Free queue: a doubly linked list over block ids (-1 = none).
    private var previous: [Int]
    private var next: [Int]
    private var head = -1
    private var tail = -1
    /// Blocks with reference count 0 (some may still hold a cached prefix).
    private(set) var numFreeBlocks = 0

    init(numBlocks: Int) {
        precondition(numBlocks > 0, "a block pool needs at least one block")
        self.numBlocks = numBlocks
        refCounts = Array(repeating: 0, count: numBlocks)
        hashes = Array(repeating: nil, count: numBlocks)
        previous = Array(repeating: -1, count: numBlocks)
        next = Array(repeating: -1, count: numBlocks)
        for block in 0..<numBlocks { appendFree(block) }
    }

    /// Fraction of blocks in use, 0…1 (cached-but-free blocks count as free).
    var usage: Double { Double(numBlocks - numFreeBlocks) / Double(numBlocks) }

    /// Number of blocks holding a registered prefix hash (in use or free).
    var numCachedBlocks: Int { cachedBlocks.count }

    /// Takes `count` free blocks (evicting their cached prefixes) with reference count 1; nil if too few.
    mutating func allocate(_ count: Int) -> [Int]? {
        guard count <= numFreeBlocks else { return nil }
        var blocks: [Int] = []
        blocks.reserveCapacity(count)
        for _ in 0..<count {
            let block = head
            removeFree(block)
            if let hash = hashes[block] {
                cachedBlocks[hash] = nil
                hashes[block] = nil
            }
            refCounts[block] = 1
            blocks.append(block)
        }
        return blocks
    }

    /// Adds one reference to each block (a prefix-cache hit); free ones leave the free queue.
    mutating func touch(_ blocks: [Int]) {
        for block in blocks {
            if refCounts[block] == 0 { removeFree(block) }
            refCounts[block] += 1
        }
    }

    /// Drops one reference from each block, in order; blocks reaching 0 join the tail of the free queue.
    mutating func free(_ blocks: [Int]) {
        for block in blocks {
            precondition(refCounts[block] > 0, "block \(block) freed more often than allocated")
            refCounts[block] -= 1
            if refCounts[block] == 0 { appendFree(block) }
        }
    }

    /// The block holding the prefix `hash`, if cached.
    func cachedBlock(for hash: BlockHash) -> Int? { cachedBlocks[hash] }

    /// The hash registered on a block, if any.
    func hash(of block: Int) -> BlockHash? { hashes[block] }

    /// Registers a computed full block under `hash`; returns false (and changes nothing) when the hash is
    /// already cached in another block or the block already has a hash.
    @discardableResult
    mutating func cache(_ block: Int, as hash: BlockHash) -> Bool {
        guard cachedBlocks[hash] == nil, hashes[block] == nil else { return false }
        cachedBlocks[hash] = block
        hashes[block] = hash
        return true
    }

    /// Forgets every cached prefix of free blocks (e.g. after the worker lost its KV storage).
    mutating func resetPrefixCache() {
        for (hash, block) in cachedBlocks where refCounts[block] == 0 {
            cachedBlocks[hash] = nil
            hashes[block] = nil
        }
    }

    private mutating func appendFree(_ block: Int) {
        previous[block] = tail
        next[block] = -1
        if tail >= 0 { next[tail] = block } else { head = block }
        tail = block
        numFreeBlocks += 1
    }

    private mutating func removeFree(_ block: Int) {
        let before = previous[block]
        let after = next[block]
        if before >= 0 { next[before] = after } else { head = after }
        if after >= 0 { previous[after] = before } else { tail = before }
        previous[block] = -1
        next[block] = -1
        numFreeBlocks -= 1
    }
}
