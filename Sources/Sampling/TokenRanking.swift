/// Orders vocabulary entries by logit for every filter that needs "the best tokens":
/// greedy argmax, top-k, the top-p nucleus and the top-N log-probabilities.
///
/// The order is total and platform independent: a higher logit ranks first, equal
/// logits rank by lower token id, and NaN ranks as -infinity. Selection of the
/// best `k` uses a bounded min-heap, O(V log k), so a vocabulary of 150k tokens
/// is never fully sorted for a small `k`.
enum TokenRanking {
    /// The sort key of a logit: NaN (a model bug) is treated as -infinity.
    @inline(__always)
    static func key(_ logit: Float) -> Float {
        logit.isNaN ? -.infinity : logit
    }

    /// Whether token `a` ranks strictly before token `b`.
    @inline(__always)
    static func precedes(_ a: Int32, _ b: Int32, in logits: UnsafeBufferPointer<Float>) -> Bool {
        let keyA = key(logits[Int(a)])
        let keyB = key(logits[Int(b)])
        return keyA > keyB || (keyA == keyB && a < b)
    }

    /// The best-ranked token id (the lowest id among equal maxima); 0 for an empty buffer
    /// or one of only NaN and -infinity.
    static func argmax(_ logits: UnsafeBufferPointer<Float>) -> Int {
        let maxLogit = VectorMath.maxKey(logits)
        guard maxLogit > -.infinity else { return 0 }
        return VectorMath.firstIndex(of: maxLogit, in: logits) ?? 0
    }

    /// The `k` best-ranked token ids, best first. `k` is clamped to the vocabulary size.
    static func top(_ k: Int, of logits: UnsafeBufferPointer<Float>) -> [Int32] {
        let k = min(k, logits.count)
        guard k > 0 else { return [] }
        // heap[0] is the worst of the kept ids: every other kept id precedes it.
        var heap: [Int32] = []
        heap.reserveCapacity(k)
        for i in 0..<k {
            heap.append(Int32(truncatingIfNeeded: i))
            siftUp(&heap, from: i, logits)
        }
        // Ids grow as we scan, so a later token displaces the worst kept one only with a
        // strictly greater key; whole vectors without one are skipped.
        var worstKeptKey = key(logits[Int(heap[0])])
        var start = k
        while start < logits.count {
            let end = min(start + VectorMath.lanes, logits.count)
            if end - start == VectorMath.lanes && !any(VectorMath.load(logits, at: start) .> worstKeptKey) {
                start = end
                continue
            }
            for i in start..<end where key(logits[i]) > worstKeptKey {
                heap[0] = Int32(truncatingIfNeeded: i)
                siftDown(&heap, from: 0, logits)
                worstKeptKey = key(logits[Int(heap[0])])
            }
            start = end
        }
        heap.sort { precedes($0, $1, in: logits) }
        return heap
    }

    /// Sorts `ids` best first.
    static func sort(_ ids: inout [Int32], by logits: UnsafeBufferPointer<Float>) {
        ids.sort { precedes($0, $1, in: logits) }
    }

    /// 1-based rank of `tokenID`: one more than the number of tokens that precede it.
    static func rank(of tokenID: Int, in logits: UnsafeBufferPointer<Float>) -> Int {
        let tokenKey = key(logits[tokenID])
        guard tokenKey > -.infinity else {
            // Every finite token and every earlier -infinity or NaN one precedes it.
            let numFinite = logits.count - logits.count { key($0) == -.infinity }
            let numEarlierMasked = logits[..<tokenID].count { key($0) == -.infinity }
            return numFinite + numEarlierMasked + 1
        }
        let numGreater = VectorMath.count(greaterThan: tokenKey, in: logits)
        let numEarlierEqual = logits[..<tokenID].count { $0 == tokenKey }
        return numGreater + numEarlierEqual + 1
    }

    // MARK: - Min-heap on "worse than" (the root is the worst kept token)

    private static func siftUp(_ heap: inout [Int32], from index: Int, _ logits: UnsafeBufferPointer<Float>) {
        var child = index
        while child > 0 {
            let parent = (child - 1) / 2
            guard precedes(heap[parent], heap[child], in: logits) else { return }
            heap.swapAt(parent, child)
            child = parent
        }
    }

    private static func siftDown(_ heap: inout [Int32], from index: Int, _ logits: UnsafeBufferPointer<Float>) {
        var parent = index
        let count = heap.count
        while true {
            var worst = parent
            let left = 2 * parent + 1
            let right = left + 1
            if left < count && precedes(heap[worst], heap[left], in: logits) { worst = left }
            if right < count && precedes(heap[worst], heap[right], in: logits) { worst = right }
            if worst == parent { return }
            heap.swapAt(parent, worst)
            parent = worst
        }
    }
}
