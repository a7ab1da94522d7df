/// Splits Pangu chat output text into thinking (`reasoning_content`) and answer (`content`), incrementally,
/// so streamed deltas can be routed as they arrive.
///
/// Text between `[unused16]` and `[unused17]` is reasoning; everything else is content; the end-of-turn
/// piece `[unused10]` is dropped. Markers split across deltas are held back until they are decided, so
/// the concatenation of all `feed` results plus `flush()` never contains a marker.
struct ReasoningParser: Sendable {
    static let thinkStart = "[unused16]"
    static let thinkEnd = "[unused17]"
    static let endOfTurn = "[unused10]"

    /// Markers recognised: the thinking delimiters, the end-of-turn piece and any extra dropped pieces.
    private let markers: [String]
    private var pending = ""
    private(set) var isReasoning = false

    /// `droppedPieces`: further texts removed from the output (e.g. the EOS piece, visible because special
    /// tokens are kept in the text).
    init(droppedPieces: [String] = []) {
        markers = [Self.thinkStart, Self.thinkEnd, Self.endOfTurn] + droppedPieces.filter { !$0.isEmpty }
    }

    /// Reasoning and content text completed by `text`.
    mutating func feed(_ text: String) -> (reasoning: String, content: String) {
        pending += text
        var reasoning = ""
        var content = ""
        while let (range, marker) = firstMarker(in: pending) {
            emit(String(pending[..<range.lowerBound]), reasoning: &reasoning, content: &content)
            if marker == Self.thinkStart { isReasoning = true } else if marker == Self.thinkEnd { isReasoning = false }
            pending = String(pending[range.upperBound...])
        }
        let keep = longestMarkerPrefixSuffix(pending)
        let ready = pending.dropLast(keep)
        emit(String(ready), reasoning: &reasoning, content: &content)
        pending = String(pending.suffix(keep))
        return (reasoning, content)
    }

    /// Whatever was held back, as text of the current channel.
    mutating func flush() -> (reasoning: String, content: String) {
        var reasoning = ""
        var content = ""
        emit(pending, reasoning: &reasoning, content: &content)
        pending = ""
        return (reasoning, content)
    }

    /// Splits a whole output at once.
    static func split(_ text: String, droppedPieces: [String] = []) -> (reasoning: String?, content: String) {
        var parser = ReasoningParser(droppedPieces: droppedPieces)
        let first = parser.feed(text)
        let rest = parser.flush()
        let reasoning = first.reasoning + rest.reasoning
        let sawThinking = text.contains(thinkStart) || text.contains(thinkEnd)
        return (sawThinking ? reasoning : nil, first.content + rest.content)
    }

    private func emit(_ text: String, reasoning: inout String, content: inout String) {
        if isReasoning { reasoning += text } else { content += text }
    }

    private func firstMarker(in text: String) -> (Range<String.Index>, String)? {
        var best: (Range<String.Index>, String)?
        for marker in markers {
            if let range = text.range(of: marker), best.map({ range.lowerBound < $0.0.lowerBound }) ?? true {
                best = (range, marker)
            }
        }
        return best
    }

    /// Length (in characters) of the longest suffix of `text` that is a proper prefix of a marker.
    private func longestMarkerPrefixSuffix(_ text: String) -> Int {
        var longest = 0
        for marker in markers {
            let limit = min(marker.count - 1, text.count)
            guard limit > longest else { continue }
            for length in stride(from: limit, to: longest, by: -1) where text.hasSuffix(marker.prefix(length)) {
                longest = length
                break
            }
        }
        return longest
    }
}
