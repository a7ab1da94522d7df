/// Byte-level BPE merge rules keyed by the ids of the two pieces: (left, right)
/// -> (rank, merged id). Open addressing over flat arrays, so building the
/// 150k-rule Qwen2 table is cheap even in debug builds.
struct MergeTable: Sendable {
    private var keys: [UInt64]
    private var values: [UInt64]
    private let mask: Int
    private static let empty = UInt64.max

    init(capacity: Int) {
        var size = 16
        while size < capacity * 2 { size <<= 1 }
        keys = Array(repeating: Self.empty, count: size)
        values = Array(repeating: 0, count: size)
        mask = size - 1
    }

    private static func slot(_ key: UInt64, _ mask: Int) -> Int {
        Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> 20) & mask
    }

    /// Records a rule unless the pair already has one (the earlier rank wins).
    @_optimize(speed)
    mutating func insert(left: Int, right: Int, rank: Int, merged: Int) {
        let key = UInt64(left) << 32 | UInt64(right)
        let mask = self.mask
        let slot = keys.withUnsafeMutableBufferPointer { keys -> Int? in
            var slot = Self.slot(key, mask)
            while keys[slot] != Self.empty {
                if keys[slot] == key { return nil }
                slot = (slot + 1) & mask
            }
            keys[slot] = key
            return slot
        }
        if let slot { values[slot] = UInt64(rank) << 32 | UInt64(merged) }
    }

    @_optimize(speed)
    func lookup(left: Int, right: Int) -> (rank: Int, merged: Int)? {
        let key = UInt64(left) << 32 | UInt64(right)
        let found = keys.withUnsafeBufferPointer { keys -> Int in
            var slot = Self.slot(key, mask)
            while keys[slot] != Self.empty {
                if keys[slot] == key { return slot }
                slot = (slot + 1) & mask
            }
            return -1
        }
        guard found >= 0 else { return nil }
        let value = values[found]
        return (Int(value >> 32), Int(value & 0xFFFF_FFFF))
    }
}
