extension FilteredDistribution {
    /// Number of one-nat-wide bins used to bound the top-p nucleus before sorting.
    static let numNucleusBins = 64

    /// Candidates for a top-p nucleus over the whole vocabulary, best first, with
    /// their weights, and the total weight of the whole vocabulary.
    ///
    /// Sorting 150k logits per token is the cost vLLM pays on a GPU; here one pass
    /// sums the weights into bins one nat of log-weight wide below the maximum,
    /// finds the smallest run of top bins whose mass reaches `topP`, and only the
    /// tokens inside that run (plus one more bin, against rounding) are sorted. The
    /// nucleus is a best-first prefix of mass >= `topP`, so it lies inside those
    /// tokens and the result equals that of a full sort.
    static func nucleusCandidates(
        _ logits: UnsafeBufferPointer<Float>, _ maxLogit: Float, _ invTemperature: Float, topP: Float
    ) -> (ids: [Int32], weights: [Float], total: Double) {
        var allWeights = [Float](repeating: 0, count: logits.count)
        allWeights.withUnsafeMutableBufferPointer {
            VectorMath.fillWeights(logits, maxLogit: maxLogit, invTemperature: invTemperature, into: $0)
        }
        var binMass = [Double](repeating: 0, count: numNucleusBins + 1)
        var total = 0.0
        for (i, w) in allWeights.enumerated() where w > 0 {
            binMass[nucleusBin(logits[i], maxLogit, invTemperature)] += Double(w)
            total += Double(w)
        }
        let mass = Double(topP) * total
        var lastBin = numNucleusBins
        var cumulative = 0.0
        for (bin, binWeight) in binMass.enumerated() {
            cumulative += binWeight
            if cumulative >= mass {
                lastBin = min(bin + 1, numNucleusBins)
                break
            }
        }
        // Sort keys: descending logit then ascending id, as one ascending UInt64.
        var keys: [UInt64] = []
        for (i, w) in allWeights.enumerated() where w > 0 && nucleusBin(logits[i], maxLogit, invTemperature) <= lastBin
        {
            keys.append(UInt64(descendingOrderKey(logits[i])) << 32 | UInt64(i))
        }
        keys.sort()
        let ids = keys.map { Int32(truncatingIfNeeded: $0 & 0xFFFF_FFFF) }
        return (ids, ids.map { allWeights[Int($0)] }, total)
    }

    /// The bin of a token of positive weight: whole nats of log-weight below the
    /// maximum, capped at the last bin.
    @inline(__always)
    static func nucleusBin(_ logit: Float, _ maxLogit: Float, _ invTemperature: Float) -> Int {
        let depth = (maxLogit - logit) * invTemperature
        return depth >= Float(numNucleusBins) ? numNucleusBins : Int(depth)
    }

    /// A UInt32 that sorts ascending as the float sorts descending (finite floats).
    @inline(__always)
    static func descendingOrderKey(_ value: Float) -> UInt32 {
        let bits = (value == 0 ? 0 : value).bitPattern  // -0 sorts with +0
        let ascending = bits & 0x8000_0000 != 0 ? ~bits : bits | 0x8000_0000
        return ~ascending
    }
}
