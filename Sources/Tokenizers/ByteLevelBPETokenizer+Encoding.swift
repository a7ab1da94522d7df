import Foundation

/// Encoding half of `ByteLevelBPETokenizer`.
extension ByteLevelBPETokenizer {
    public func encode(_ text: String, addSpecialTokens: Bool, parseSpecial: Bool) -> [Int] {
        var ids: [Int] = []
        if addSpecialTokens && addsBOS, let bos = bosTokenID { ids.append(bos) }
        let bytes = Array(text.utf8)
        let matcher = parseSpecial ? specialMatcher : alwaysMatcher
        for segment in matcher.split(bytes) {
            switch segment {
            case .token(let id): ids.append(id)
            case .text(let range): encodeText(String(decoding: bytes[range], as: UTF8.self), into: &ids)
            }
        }
        return ids
    }

    /// Normalises, pre-tokenizes and merges one run of text without added tokens.
    private func encodeText(_ text: String, into ids: inout [Int]) {
        var text = normalizeNFC ? text.precomposedStringWithCanonicalMapping : text
        if addPrefixSpace && !text.hasPrefix(" ") { text = " " + text }
        let scalars = Array(text.unicodeScalars)
        let utf8 = Array(text.utf8)
        // byteOffsets[i] is where scalar i starts in `utf8`.
        var byteOffsets: [Int] = []
        byteOffsets.reserveCapacity(scalars.count + 1)
        var offset = 0
        for scalar in scalars {
            byteOffsets.append(offset)
            offset += UTF8.width(scalar)
        }
        byteOffsets.append(offset)
        for word in preTokenizer.split(scalars) {
            encodeWord(utf8[byteOffsets[word.lowerBound]..<byteOffsets[word.upperBound]], into: &ids)
        }
    }

    /// Merges one pre-tokenized word's bytes into ids.
    func encodeWord(_ bytes: ArraySlice<UInt8>, into ids: inout [Int]) {
        if bytes.count == 1, let byte = bytes.first, byteIDs[Int(byte)] >= 0 {
            ids.append(byteIDs[Int(byte)])
            return
        }
        if ignoreMerges {
            var mapped: [UInt8] = []
            for byte in bytes { mapped.append(contentsOf: byteSymbols[Int(byte)]) }
            if let id = vocab.lookup(mapped), addedTokens[id] == nil {
                ids.append(id)
                return
            }
        }
        var spans: [(start: Int, end: Int, id: Int)] = []
        spans.reserveCapacity(bytes.count)
        for offset in bytes.indices { spans.append((offset, offset + 1, byteIDs[Int(bytes[offset])])) }
        var symbols = BPEMerger.symbols(spans: spans)
        let merged = BPEMerger.merge(&symbols) { left, right in
            guard left.id >= 0, right.id >= 0, let rule = merges.lookup(left: left.id, right: right.id) else {
                return nil
            }
            return BPEMerger.Merge(priority: -Double(rule.rank), id: rule.merged)
        }
        for symbol in merged {
            if symbol.id >= 0 {
                ids.append(symbol.id)
            } else if let unk = unkTokenID {
                ids.append(unk)
            }
        }
    }
}
