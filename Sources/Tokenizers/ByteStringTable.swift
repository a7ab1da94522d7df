/// A hash map from byte strings to ids that compares bytes exactly.
///
/// Swift `String` keys compare by Unicode canonical equivalence, so `"e\u{301}"`
/// would find the piece `"é"`; tokenizers need byte identity. Open addressing
/// over an arena of all keys (FNV-1a hashes, linear probing) also keeps loading a
/// 150k-entry vocabulary to a few array appends per entry.
struct ByteStringTable: Sendable {
    private var arena: [UInt8] = []
    private var starts: [Int] = []
    private var ids: [Int] = []
    /// Slot -> index into `starts`/`ids` plus one; 0 marks an empty slot.
    private var slots: [Int32]
    private var mask: Int

    init(capacity: Int) {
        var size = 16
        while size < capacity * 2 { size <<= 1 }
        slots = Array(repeating: 0, count: size)
        mask = size - 1
        starts = [0]
    }

    var count: Int { ids.count }

    private static func hash<C: Collection>(_ bytes: C) -> Int where C.Element == UInt8 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
        return Int(truncatingIfNeeded: hash ^ (hash >> 29))
    }

    private func keyEquals<C: Collection>(_ entry: Int, _ bytes: C) -> Bool where C.Element == UInt8 {
        let start = starts[entry]
        let end = starts[entry + 1]
        guard end - start == bytes.count else { return false }
        var offset = start
        for byte in bytes {
            if arena[offset] != byte { return false }
            offset += 1
        }
        return true
    }

    /// Adds `bytes -> id` unless the key is already present (the first id wins).
    mutating func insert<C: Collection>(_ bytes: C, id: Int) where C.Element == UInt8 {
        if (ids.count + 1) * 2 > slots.count { grow() }
        var slot = Self.hash(bytes) & mask
        while slots[slot] != 0 {
            if keyEquals(Int(slots[slot]) - 1, bytes) { return }
            slot = (slot + 1) & mask
        }
        arena.append(contentsOf: bytes)
        starts.append(arena.count)
        ids.append(id)
        slots[slot] = Int32(ids.count)
    }

    func lookup<C: Collection>(_ bytes: C) -> Int? where C.Element == UInt8 {
        var slot = Self.hash(bytes) & mask
        while slots[slot] != 0 {
            let entry = Int(slots[slot]) - 1
            if keyEquals(entry, bytes) { return ids[entry] }
            slot = (slot + 1) & mask
        }
        return nil
    }

    func lookup(_ string: String) -> Int? { lookup(string.utf8) }

    private mutating func grow() {
        let size = slots.count * 2
        slots = Array(repeating: 0, count: size)
        mask = size - 1
        for entry in ids.indices {
            var slot = Self.hash(arena[starts[entry]..<starts[entry + 1]]) & mask
            while slots[slot] != 0 { slot = (slot + 1) & mask }
            slots[slot] = Int32(entry + 1)
        }
    }
}
