// libFuzzer entry point for the HTTP/1 request parser (built by run.sh together with Sources/HTTP1).
//
// Differential check: the input is parsed whole and in slices whose size comes from the first byte;
// both runs must give the same events and the same error status (the message may name a different
// symptom of the same defect, e.g. an over-long first line seen before or after its line feed), and the
// parser must never crash, trap or buffer an unfinished head beyond its limit.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzParser(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let sliceSize = Int(bytes[0] % 17) + 1
    let input = Array(bytes.dropFirst())
    let limits = HTTPLimits(maxHeaderBytes: 256, maxNumHeaders: 8, maxURILength: 64, maxBodyBytes: 512)
    let whole = runParser(input, sliceSize: input.count + 1, limits: limits)
    let sliced = runParser(input, sliceSize: sliceSize, limits: limits)
    if whole != sliced {
        fatalError("split-dependent result: whole=\(whole) sliced(\(sliceSize))=\(sliced)")
    }
    return 0
}

struct FuzzOutcome: Equatable, CustomStringConvertible {
    var events: [HTTPRequestParser.Event] = []
    var error: HTTP1Error?
    var description: String { "\(events.count) events, error \(String(describing: error))" }

    static func == (lhs: FuzzOutcome, rhs: FuzzOutcome) -> Bool {
        lhs.events == rhs.events && lhs.error?.status == rhs.error?.status
    }
}

func runParser(_ input: [UInt8], sliceSize: Int, limits: HTTPLimits) -> FuzzOutcome {
    var parser = HTTPRequestParser(limits: limits)
    var outcome = FuzzOutcome()
    var offset = 0
    while offset < input.count {
        let end = min(input.count, offset + sliceSize)
        parser.append(input[offset..<end])
        offset = end
        do {
            while let event = try parser.next() {
                if case .body(let more) = event, case .body(let previous)? = outcome.events.last {
                    outcome.events[outcome.events.count - 1] = .body(previous + more)
                } else {
                    outcome.events.append(event)
                }
            }
        } catch {
            outcome.error = error
            return outcome
        }
        if parser.isReadingHead && parser.numBufferedBytes > limits.maxHeaderBytes + limits.maxURILength + 128 {
            fatalError("unfinished head buffered beyond the limit: \(parser.numBufferedBytes) bytes")
        }
    }
    return outcome
}
