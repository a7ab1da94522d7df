import Tokenizers

/// Turns one request's generated tokens into streamed text deltas and finds its stop strings, holding back
/// any tail that could still become a stop string so a stream never shows part of one.
///
/// Text is compared as Unicode scalars (stable under appending, unlike grapheme clusters). Invariants:
/// `numEmittedScalars <= scalars.count`; the emitted text contains no stop string; at most the longest
/// suffix of the text that is a proper prefix of a stop string is held back.
struct OutputTextProcessor {
    private var detokenizer: IncrementalDetokenizer
    private let stops: [[Unicode.Scalar]]
    private let stopStrings: [String]
    private let includeStopStrInOutput: Bool
    private var scalars: [Unicode.Scalar] = []
    private var numEmittedScalars = 0

    init(
        tokenizer: any Tokenizer, promptTokenIDs: [Int], stop: [String], includeStopStrInOutput: Bool,
        skipSpecialTokens: Bool
    ) {
        detokenizer = IncrementalDetokenizer(
            tokenizer: tokenizer, contextIDs: promptTokenIDs, skipSpecialTokens: skipSpecialTokens)
        stopStrings = stop.filter { !$0.isEmpty }
        stops = stopStrings.map { Array($0.unicodeScalars) }
        self.includeStopStrInOutput = includeStopStrInOutput
    }

    /// Detokenizes new tokens. With `checkStops`, looks for a stop string in the new text; returns the text
    /// to emit now and the matched stop string, if any (then the request must finish).
    mutating func append(_ tokenIDs: [Int], checkStops: Bool) -> (text: String, matchedStop: String?) {
        ingest(detokenizer.append(tokenIDs), checkStops: checkStops, isFinal: false)
    }

    /// Ends the text (the request finishes for another reason): flushes held-back text, still honouring a
    /// stop string completed by the flush.
    mutating func finish(checkStops: Bool) -> (text: String, matchedStop: String?) {
        ingest(detokenizer.flush(), checkStops: checkStops, isFinal: true)
    }

    private mutating func ingest(_ delta: String, checkStops: Bool, isFinal: Bool) -> (String, String?) {
        if stops.isEmpty { return (delta, nil) }  // nothing to match or hold back
        let oldCount = scalars.count
        scalars.append(contentsOf: delta.unicodeScalars)
        if checkStops, let (position, index) = firstStop(oldCount: oldCount) {
            let end = includeStopStrInOutput ? position + stops[index].count : position
            return (emit(upTo: end), stopStrings[index])
        }
        let heldBack = (checkStops && !isFinal) ? heldBackCount() : 0
        return (emit(upTo: scalars.count - heldBack), nil)
    }

    /// Earliest stop string that ends in the new text: (start position, stop index).
    private func firstStop(oldCount: Int) -> (Int, Int)? {
        var best: (Int, Int)?
        for (index, stop) in stops.enumerated() {
            let start = max(numEmittedScalars, oldCount - (stop.count - 1))
            guard let position = find(stop, from: start) else { continue }
            if best == nil || position < best?.0 ?? Int.max { best = (position, index) }
        }
        return best
    }

    private func find(_ pattern: [Unicode.Scalar], from start: Int) -> Int? {
        guard scalars.count >= pattern.count, start <= scalars.count - pattern.count else { return nil }
        for position in start...(scalars.count - pattern.count)
        where scalars[position..<position + pattern.count].elementsEqual(pattern) {
            return position
        }
        return nil
    }

    /// Length of the longest not-yet-emitted suffix that is a proper prefix of some stop string.
    private func heldBackCount() -> Int {
        let available = scalars.count - numEmittedScalars
        var longest = 0
        for stop in stops {
            var length = min(stop.count - 1, available)
            while length > longest {
                if scalars[(scalars.count - length)...].elementsEqual(stop[..<length]) {
                    longest = length
                    break
                }
                length -= 1
            }
        }
        return longest
    }

    private mutating func emit(upTo end: Int) -> String {
        guard end > numEmittedScalars else { return "" }
        var view = String.UnicodeScalarView()
        view.append(contentsOf: scalars[numEmittedScalars..<end])
        numEmittedScalars = end
        return String(view)
    }
}
