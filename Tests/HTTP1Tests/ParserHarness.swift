import HTTP1

/// Outcome of feeding a byte stream to a parser: normalised events (adjacent body slices merged) and the
/// error it stopped on, if any.
struct ParseOutcome: Equatable {
    var events: [HTTPRequestParser.Event]
    var error: HTTP1Error?
}

/// Feeds `input` to a fresh parser in the given split sizes (cycled) and pulls every event.
func parse(_ input: [UInt8], splits: [Int]? = nil, limits: HTTPLimits = .default) -> ParseOutcome {
    var parser = HTTPRequestParser(limits: limits)
    var events: [HTTPRequestParser.Event] = []
    var offset = 0
    var splitIndex = 0
    while offset < input.count {
        let size = splits.map { max(1, $0[splitIndex % $0.count]) } ?? input.count
        splitIndex += 1
        let end = min(input.count, offset + size)
        parser.append(input[offset..<end])
        offset = end
        do {
            while let event = try parser.next() { append(event, to: &events) }
        } catch {
            return ParseOutcome(events: events, error: error)
        }
    }
    return ParseOutcome(events: events, error: nil)
}

func parse(_ text: String, splits: [Int]? = nil, limits: HTTPLimits = .default) -> ParseOutcome {
    parse(Array(text.utf8), splits: splits, limits: limits)
}

private func append(_ event: HTTPRequestParser.Event, to events: inout [HTTPRequestParser.Event]) {
    if case .body(let more) = event, case .body(let previous)? = events.last {
        events[events.count - 1] = .body(previous + more)
    } else {
        events.append(event)
    }
}

/// Small deterministic generator so that "random" splits are reproducible.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

extension HTTPRequestParser.Event {
    var head: HTTPRequestHead? {
        if case .head(let head) = self { return head }
        return nil
    }
}
