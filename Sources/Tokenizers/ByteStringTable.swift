import Foundation

/// An immutable hash map from byte strings to ids that compares bytes exactly.
///
/// Swift `String` keys compare by Unicode canonical equivalence, so `"e\u{301}"`
/// would find the piece `"é"`; tokenizers need byte identity. Key `i` of the
/// strings it is built from maps to id `i`; empty keys are left out and the first
/// of duplicate keys wins. Open addressing (FNV-1a, linear probing) over buffers
/// allocated once: lookups are a hash and a `memcmp`, with no copies or
/// reference counting, so a 150k vocabulary builds in milliseconds even in debug
/// builds (the hot functions are `@_optimize(speed)`).
struct ByteStringTable: Sendable {
    /// Owns the buffers; never mutated after `init` returns.
    private final class Storage: @unchecked Sendable {
        let arena: UnsafeMutableBufferPointer<UInt8>
        /// Key i is `arena[starts[i]..<starts[i + 1]]`.
        let starts: UnsafeMutableBufferPointer<Int>
        /// Slot -> key index plus one; 0 marks an empty slot.
        let slots: UnsafeMutableBufferPointer<Int32>
        let mask: Int

        init(bytes: [UInt8], starts: [Int]) {
            arena = .allocate(capacity: max(bytes.count, 1))
            _ = arena.initialize(from: bytes)
            self.starts = .allocate(capacity: starts.count)
            _ = self.starts.initialize(from: starts)
            var size = 16
            while size < starts.count * 2 { size <<= 1 }
            slots = .allocate(capacity: size)
            slots.initialize(repeating: 0)
            mask = size - 1
        }

        deinit {
            arena.deallocate()
            starts.deallocate()
            slots.deallocate()
        }
    }

    private let storage: Storage

    /// Maps each element of `keys` to its index.
    init(keys: GGUFMetadata.StringArray) {
        storage = Storage(bytes: keys.bytes, starts: keys.starts)
        Self.fill(storage, count: keys.count)
    }

    /// Maps each string to its index.
    @_optimize(speed)
    init(_ strings: [String]) {
        var bytes: [UInt8] = []
        var starts = [0]
        starts.reserveCapacity(strings.count + 1)
        for string in strings {
            bytes.append(contentsOf: string.utf8)
            starts.append(bytes.count)
        }
        self.init(keys: GGUFMetadata.StringArray(bytes: bytes, starts: starts))
    }

    @_optimize(speed)
    private static func fill(_ storage: Storage, count: Int) {
        for entry in 0..<count {
            let start = storage.starts[entry]
            let length = storage.starts[entry + 1] - start
            guard length > 0 else { continue }
            let key = UnsafeBufferPointer(rebasing: storage.arena[start..<(start + length)])
            let slot = findSlot(storage, key)
            if storage.slots[slot] == 0 { storage.slots[slot] = Int32(entry + 1) }
        }
    }

    @_optimize(speed)
    private static func hash(_ bytes: UnsafeBufferPointer<UInt8>) -> Int {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for index in 0..<bytes.count { hash = (hash ^ UInt64(bytes[index])) &* 0x0000_0100_0000_01B3 }
        return Int(truncatingIfNeeded: (hash &* 0x9E37_79B9_7F4A_7C15) >> 24)
    }

    /// The slot holding `bytes`, or the empty slot where it would go.
    @_optimize(speed)
    private static func findSlot(_ storage: Storage, _ bytes: UnsafeBufferPointer<UInt8>) -> Int {
        let mask = storage.mask
        var slot = hash(bytes) & mask
        while storage.slots[slot] != 0 {
            let entry = Int(storage.slots[slot]) - 1
            let start = storage.starts[entry]
            if storage.starts[entry + 1] - start == bytes.count, let arena = storage.arena.baseAddress,
                let base = bytes.baseAddress, memcmp(arena + start, base, bytes.count) == 0
            {
                return slot
            }
            slot = (slot + 1) & mask
        }
        return slot
    }

    @_optimize(speed)
    func lookup(_ bytes: UnsafeBufferPointer<UInt8>) -> Int? {
        guard !bytes.isEmpty else { return nil }
        let slot = Self.findSlot(storage, bytes)
        let entry = Int(storage.slots[slot])
        return entry == 0 ? nil : entry - 1
    }

    func lookup(_ string: String) -> Int? {
        var string = string
        return string.withUTF8 { lookup($0) }
    }

    func lookup(_ bytes: [UInt8], _ range: Range<Int>) -> Int? {
        bytes.withUnsafeBufferPointer { lookup(UnsafeBufferPointer(rebasing: $0[range])) }
    }

    func lookup(_ bytes: [UInt8]) -> Int? {
        bytes.withUnsafeBufferPointer { lookup($0) }
    }
}
