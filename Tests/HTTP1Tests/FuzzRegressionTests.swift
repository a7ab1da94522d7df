import HTTP1
import Testing

/// Inputs found by the libFuzzer target (Tests/Fuzz) that once broke an invariant, kept as regressions.
@Suite("Fuzz regressions")
struct FuzzRegressionTests {
    static let limits = HTTPLimits(maxHeaderBytes: 256, maxNumHeaders: 8, maxURILength: 64, maxBodyBytes: 512)

    /// Same limits and check as the fuzz target: whole and split parses must agree on events and status.
    func expectSplitIndependent(_ input: [UInt8]) {
        let whole = parse(input, limits: Self.limits)
        for size in 1...17 {
            let sliced = parse(input, splits: [size], limits: Self.limits)
            #expect(sliced.events == whole.events)
            #expect(sliced.error?.status == whole.error?.status, "split \(size)")
        }
    }

    @Test("a long first line with an invalid method gets 400 however it is split")
    func longLineInvalidMethod() {
        var input = Array("tion\u{11}".utf8) + [UInt8](repeating: 0, count: 7) + Array("s ".utf8)
        input += [UInt8](repeating: 0, count: 150) + Array("e\n".utf8)
        expectSplitIndependent(input)
        #expect(parse(input, limits: Self.limits).error?.status.code == 400)
    }

    @Test("a long first line without a space gets 400 however it is split")
    func longLineNoSpace() {
        let input = Array("Chr!taac".utf8) + [UInt8](repeating: 0, count: 140) + Array("e\u{90}\n".utf8)
        expectSplitIndependent(input)
    }

    @Test("an unfinished first line longer than the head limit gets 414 when it carries a long target")
    func longTargetBeyondHeadLimit() {
        let input = Array(("GET /" + String(repeating: "a", count: 400)).utf8)
        expectSplitIndependent(input)
        #expect(parse(input, limits: Self.limits).error?.status.code == 414)
    }

    @Test("a short target followed by a long tail gets 400 however it is split")
    func shortTargetLongTail() {
        let input = Array(("GET / " + String(repeating: "H", count: 300) + "\r\nHost: a\r\n\r\n").utf8)
        expectSplitIndependent(input)
        #expect(parse(input, limits: Self.limits).error?.status.code == 400)
    }
}
