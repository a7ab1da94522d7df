/// Encoding half of `SentencePieceTokenizer`: normalisation, BPE by piece score,
/// resegmentation of UNUSED pieces and byte fallback.
extension SentencePieceTokenizer {
    private static let space: UInt8 = 0x20
    private static let metaSymbol: [UInt8] = [0xE2, 0x96, 0x81]  // "▁" U+2581

    /// Encodes one run of plain text. The dummy prefix is added only when the run
    /// starts the whole input (sentencepiece treats the input as one string).
    ///
    /// BPE runs over the whole normalised string; when no piece holds a `▁` right
    /// after another character (`splitsAtWordStarts`), no merge can cross the
    /// start of a `▁`-prefixed word, so each word is merged on its own with the
    /// same result and smaller heaps.
    func encodeSegment(_ bytes: ArraySlice<UInt8>, isStartOfInput: Bool, into ids: inout [Int]) {
        let normalized = normalize(bytes, isStartOfInput: isStartOfInput)
        guard !normalized.isEmpty else { return }
        let spans = initialSpans(normalized)
        var lastWasUnknown = false
        var chunkStart = 0
        for index in 1...spans.count {
            guard index == spans.count || (splitsAtWordStarts && isWordStart(normalized, spans, index)) else {
                continue
            }
            var symbols = BPEMerger.symbols(spans: Array(spans[chunkStart..<index]))
            let merged = BPEMerger.merge(&symbols) { left, right in
                mergeLookup(normalized, left.start, right.end)
            }
            for symbol in merged {
                guard symbol.id >= 0, model.pieces[symbol.id].type == .unused else {
                    emit(
                        id: symbol.id, bytes: normalized[symbol.start..<symbol.end], into: &ids,
                        lastWasUnknown: &lastWasUnknown)
                    continue
                }
                for part in resegment(normalized, symbol) {
                    emit(
                        id: part.id, bytes: normalized[part.start..<part.end], into: &ids,
                        lastWasUnknown: &lastWasUnknown)
                }
            }
            chunkStart = index
        }
    }

    /// Whether span `index` starts with `▁` and the span before it does not end with one.
    private func isWordStart(_ bytes: [UInt8], _ spans: [(start: Int, end: Int, id: Int)], _ index: Int) -> Bool {
        let start = spans[index].start
        return Self.hasMetaSymbol(bytes, at: start) && !(start >= 3 && Self.hasMetaSymbol(bytes, at: start - 3))
    }

    static func hasMetaSymbol<C: RandomAccessCollection>(_ bytes: C, at offset: C.Index) -> Bool
    where C.Element == UInt8, C.Index == Int {
        offset + 2 < bytes.endIndex && bytes[offset] == 0xE2 && bytes[offset + 1] == 0x96 && bytes[offset + 2] == 0x81
    }

    /// Whether no piece has a `▁` right after a character other than `▁`, which
    /// makes every `▁`-starting word a merge boundary (true for models trained
    /// with `split_by_whitespace`, such as Llama's).
    @_optimize(speed)
    static func noPieceSpansWordStart(_ texts: [String]) -> Bool {
        for text in texts {
            let bytes = Array(text.utf8)
            var offset = 1
            while offset < bytes.count {
                if hasMetaSymbol(bytes, at: offset) && !(offset >= 3 && hasMetaSymbol(bytes, at: offset - 3)) {
                    return false
                }
                offset += 1
            }
        }
        return true
    }

    /// sentencepiece's identity normaliser: optional whitespace cleanup, the dummy
    /// prefix, and spaces escaped to `▁`.
    func normalize(_ bytes: ArraySlice<UInt8>, isStartOfInput: Bool) -> [UInt8] {
        var input = Array(bytes)
        if model.removeExtraWhitespaces {
            var cleaned: [UInt8] = []
            cleaned.reserveCapacity(input.count)
            for byte in input where !(byte == Self.space && (cleaned.isEmpty || cleaned.last == Self.space)) {
                cleaned.append(byte)
            }
            if cleaned.last == Self.space { cleaned.removeLast() }
            input = cleaned
        }
        guard !input.isEmpty else { return [] }
        let addPrefix = model.addDummyPrefix && isStartOfInput
        var output: [UInt8] = []
        output.reserveCapacity(input.count + input.count / 2 + 3)
        if addPrefix && !model.treatWhitespaceAsSuffix { input.insert(Self.space, at: 0) }
        if addPrefix && model.treatWhitespaceAsSuffix { input.append(Self.space) }
        for byte in input {
            if byte == Self.space && model.escapeWhitespaces {
                output.append(contentsOf: Self.metaSymbol)
            } else {
                output.append(byte)
            }
        }
        return output
    }

    /// One span per character, except that user-defined pieces stay whole.
    private func initialSpans(_ bytes: [UInt8]) -> [(start: Int, end: Int, id: Int)] {
        var spans: [(start: Int, end: Int, id: Int)] = []
        spans.reserveCapacity(bytes.count)
        var offset = 0
        while offset < bytes.count {
            if !userDefinedMatcher.isEmpty, let found = userDefinedMatcher.match(bytes, at: offset) {
                spans.append((offset, offset + found.length, found.id))
                offset += found.length
                continue
            }
            let end = min(bytes.count, offset + Self.utf8Length(leadByte: bytes[offset]))
            let id = mergeableIDs.lookup(bytes, offset..<end) ?? -1
            spans.append((offset, end, id))
            offset = end
        }
        return spans
    }

    static func utf8Length(leadByte byte: UInt8) -> Int {
        switch byte {
        case 0xF0...: return 4
        case 0xE0...: return 3
        case 0xC0...: return 2
        default: return 1
        }
    }

    private func mergeLookup(_ bytes: [UInt8], _ start: Int, _ end: Int) -> BPEMerger.Merge? {
        guard end - start <= maxPieceBytes,
            let id = mergeableIDs.lookup(bytes, start..<end)
        else { return nil }
        return BPEMerger.Merge(priority: Double(scores[id]), id: id)
    }

    /// Splits a symbol whose piece is UNUSED back into smaller pieces (the
    /// resegmentation step of sentencepiece); other symbols pass through.
    private func resegment(_ bytes: [UInt8], _ symbol: BPEMerger.Symbol) -> [BPEMerger.Symbol] {
        guard symbol.id >= 0, model.pieces[symbol.id].type == .unused else { return [symbol] }
        var spans: [(start: Int, end: Int, id: Int)] = []
        var offset = symbol.start
        while offset < symbol.end {
            let end = min(symbol.end, offset + Self.utf8Length(leadByte: bytes[offset]))
            spans.append((offset, end, mergeableIDs.lookup(bytes, offset..<end) ?? -1))
            offset = end
        }
        guard spans.count > 1 else { return [symbol] }
        var symbols = BPEMerger.symbols(spans: spans)
        let parts = BPEMerger.merge(&symbols) { left, right in
            left.start == symbol.start && right.end == symbol.end ? nil : mergeLookup(bytes, left.start, right.end)
        }
        return parts.flatMap { resegment(bytes, $0) }
    }

    /// Appends a final symbol's id, or its byte pieces / `<unk>` when it has none.
    private func emit(id: Int, bytes: ArraySlice<UInt8>, into ids: inout [Int], lastWasUnknown: inout Bool) {
        if id >= 0 {
            ids.append(id)
            lastWasUnknown = false
        } else if model.byteFallback {
            for byte in bytes { ids.append(byteIDs[Int(byte)] >= 0 ? byteIDs[Int(byte)] : model.unkID) }
            lastWasUnknown = false
        } else if !lastWasUnknown {
            // sentencepiece folds a run of unknown symbols into one <unk>.
            ids.append(model.unkID)
            lastWasUnknown = true
        }
    }
}
