/// The merge loop shared by both BPE tokenizers: repeatedly joins the adjacent
/// pair of symbols with the highest priority until no pair can be joined.
///
/// Ties go to the leftmost pair, as in sentencepiece's `bpe_model.cc` and Hugging
/// Face's `BPE::merge_word`. Symbols form a doubly linked list over an array and
/// candidate pairs sit in a binary heap, so a word of n symbols costs
/// O(n log n) instead of O(n²) rescans. Stale heap entries are recognised by the
/// span they recorded.
enum BPEMerger {
    /// A run of input units (bytes) that is currently one token.
    struct Symbol {
        var start: Int
        var end: Int
        /// Vocabulary id of the symbol, or -1 when the symbol is not in the vocabulary.
        var id: Int
        var prev: Int
        var next: Int
    }

    /// What joining two adjacent symbols would produce.
    struct Merge {
        /// Higher merges first (sentencepiece: piece score; byte-level: minus rank).
        var priority: Double
        var id: Int
    }

    private struct Candidate {
        var priority: Double
        var left: Int
        var right: Int
        var start: Int
        var end: Int
        var id: Int

        /// Whether `self` should be merged before `other`.
        func precedes(_ other: Candidate) -> Bool {
            priority != other.priority ? priority > other.priority : left < other.left
        }
    }

    /// Builds the initial symbol list from consecutive spans.
    static func symbols(spans: [(start: Int, end: Int, id: Int)]) -> [Symbol] {
        var result: [Symbol] = []
        result.reserveCapacity(spans.count)
        for (index, span) in spans.enumerated() {
            result.append(
                Symbol(
                    start: span.start, end: span.end, id: span.id, prev: index - 1,
                    next: index + 1 < spans.count ? index + 1 : -1))
        }
        return result
    }

    /// Merges `symbols` in place and returns the surviving symbols in order.
    /// `lookup(left, right)` says whether two adjacent symbols may join.
    @_optimize(speed)
    static func merge(_ symbols: inout [Symbol], lookup: (Symbol, Symbol) -> Merge?) -> [Symbol] {
        guard !symbols.isEmpty else { return [] }
        var heap = Heap()
        func consider(_ left: Int, _ right: Int) {
            guard left >= 0, right >= 0, let merge = lookup(symbols[left], symbols[right]) else { return }
            heap.push(
                Candidate(
                    priority: merge.priority, left: left, right: right,
                    start: symbols[left].start, end: symbols[right].end, id: merge.id))
        }
        for index in 0..<(symbols.count - 1) { consider(index, index + 1) }
        while let top = heap.pop() {
            let left = symbols[top.left]
            let right = symbols[top.right]
            // Stale when either side has changed since the candidate was recorded.
            guard left.next == top.right, left.start == top.start, right.end == top.end, right.start >= 0
            else { continue }
            symbols[top.left].end = right.end
            symbols[top.left].id = top.id
            symbols[top.left].next = right.next
            if right.next >= 0 { symbols[right.next].prev = top.left }
            symbols[top.right].start = -1
            symbols[top.right].next = -1
            consider(left.prev, top.left)
            consider(top.left, right.next)
        }
        var result: [Symbol] = []
        var index = 0
        while index >= 0 {
            result.append(symbols[index])
            index = symbols[index].next
        }
        return result
    }

    /// Binary max-heap of candidates ordered by `precedes`.
    private struct Heap {
        private var items: [Candidate] = []

        @_optimize(speed)
        mutating func push(_ item: Candidate) {
            items.append(item)
            var child = items.count - 1
            while child > 0 {
                let parent = (child - 1) / 2
                guard items[child].precedes(items[parent]) else { break }
                items.swapAt(child, parent)
                child = parent
            }
        }

        @_optimize(speed)
        mutating func pop() -> Candidate? {
            guard let last = items.popLast() else { return nil }
            guard !items.isEmpty else { return last }
            let top = items[0]
            items[0] = last
            var parent = 0
            while true {
                let left = 2 * parent + 1
                let right = left + 1
                var best = parent
                if left < items.count && items[left].precedes(items[best]) { best = left }
                if right < items.count && items[right].precedes(items[best]) { best = right }
                if best == parent { break }
                items.swapAt(parent, best)
                parent = best
            }
            return top
        }
    }
}
