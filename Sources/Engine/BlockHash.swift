/// Identity of one full KV block for automatic prefix caching: a hash chain over the block's token ids and
/// its parent block's hash, so equal hashes mean equal whole prefixes, not just equal blocks.
///
/// Equality also compares the block's own token ids, so a false match needs a 64-bit collision of the
/// chain value together with identical tokens. The chain value mixes each id with SplitMix64's finaliser.
struct BlockHash: Hashable, Sendable {
    /// The chain value: a function of every token id from the start of the sequence to this block's end.
    let value: UInt64
    /// The block's own token ids (`blockSize` of them).
    let tokenIDs: [Int]

    init(parent: BlockHash?, tokenIDs: ArraySlice<Int>) {
        var state = parent?.value ?? 0x9E37_79B9_7F4A_7C15
        for id in tokenIDs {
            state = Self.mix(state ^ UInt64(bitPattern: Int64(id)))
        }
        self.value = state
        self.tokenIDs = Array(tokenIDs)
    }

    /// SplitMix64 finaliser (Steele, Lea, Flood: "Fast splittable pseudorandom number generators", 2014).
    private static func mix(_ input: UInt64) -> UInt64 {
        var z = input &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Hashes of the full blocks of `tokenIDs`, continuing `existing` (hashes of the first blocks).
    static func extend(_ existing: [BlockHash], tokenIDs: [Int], blockSize: Int) -> [BlockHash] {
        var hashes = existing
        let numFullBlocks = tokenIDs.count / blockSize
        while hashes.count < numFullBlocks {
            let start = hashes.count * blockSize
            hashes.append(BlockHash(parent: hashes.last, tokenIDs: tokenIDs[start..<start + blockSize]))
        }
        return hashes
    }
}
