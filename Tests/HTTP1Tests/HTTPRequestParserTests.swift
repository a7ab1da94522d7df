import HTTP1
import Testing

private let pipelined = """
    GET /v1/models?limit=2 HTTP/1.1\r
    Host: example\r
    Accept: */*\r
    X-Tag: a\r
    x-tag: b\r
    \r
    POST /v1/completions HTTP/1.1\r
    Host: example\r
    Content-Length: 11\r
    Content-Type: application/json\r
    \r
    {"a":"xyz"}\
    POST /upload HTTP/1.1\r
    Host: example\r
    Transfer-Encoding: chunked\r
    \r
    5;name=value\r
    hello\r
    7\r
    , world\r
    0\r
    Checksum: 42\r
    \r
    GET /last HTTP/1.0\r
    \r

    """

@Suite("HTTPRequestParser")
struct HTTPRequestParserTests {
    @Test("parses a pipelined stream of four requests in order with bodies and trailers")
    func pipelinedRequests() throws {
        let outcome = parse(pipelined)
        #expect(outcome.error == nil)
        let heads = outcome.events.compactMap(\.head)
        #expect(heads.map(\.path) == ["/v1/models", "/v1/completions", "/upload", "/last"])
        #expect(heads[0].query == "limit=2")
        #expect(heads[0].headers.values(for: "X-TAG") == ["a", "b"])
        #expect(heads[0].headers["accept"] == "*/*")
        #expect(heads[1].bodyLength == .fixed(11))
        #expect(heads[2].bodyLength == .chunked)
        #expect(heads[3].version == .http1_0)
        #expect(outcome.events.count == 4 + 4 + 2)
        #expect(outcome.events[3] == .body(Array(#"{"a":"xyz"}"#.utf8)))
        #expect(outcome.events[6] == .body(Array("hello, world".utf8)))
        #expect(outcome.events[7] == .end(trailers: ["Checksum": "42"]))
    }

    @Test("one byte at a time gives the same events as the whole input")
    func byteByByte() {
        let whole = parse(pipelined)
        #expect(parse(pipelined, splits: [1]) == whole)
    }

    @Test("random splits give the same events as the whole input")
    func randomSplits() {
        let whole = parse(pipelined)
        var rng = SplitMix64(state: 7)
        for _ in 0..<200 {
            let splits = (0..<8).map { _ in Int.random(in: 1...40, using: &rng) }
            #expect(parse(pipelined, splits: splits) == whole)
        }
    }

    @Test("random splits of hostile inputs give the same error as the whole input")
    func randomSplitsOfErrors() {
        var rng = SplitMix64(state: 11)
        for (input, _) in hostileCases {
            let whole = parse(input, limits: hostileLimits)
            let splits = (0..<5).map { _ in Int.random(in: 1...9, using: &rng) }
            #expect(parse(input, splits: splits, limits: hostileLimits).error == whole.error)
            #expect(parse(input, splits: [1], limits: hostileLimits).error == whole.error)
        }
    }

    @Test("keep-alive follows the version defaults and the Connection header")
    func keepAliveRules() throws {
        func head(_ text: String) throws -> HTTPRequestHead {
            try #require(parse(text).events.first?.head)
        }
        #expect(try head("GET / HTTP/1.1\r\nHost: a\r\n\r\n").isKeepAlive)
        #expect(try !head("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n").isKeepAlive)
        #expect(try !head("GET / HTTP/1.0\r\n\r\n").isKeepAlive)
        #expect(try head("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n").isKeepAlive)
        #expect(try !head("GET / HTTP/1.1\r\nHost: a\r\nConnection: upgrade, close\r\n\r\n").isKeepAlive)
    }

    @Test("Expect: 100-continue is reported on HTTP/1.1 requests")
    func expectContinue() throws {
        let text = "POST /x HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue\r\nContent-Length: 3\r\n\r\n"
        var parser = HTTPRequestParser()
        parser.append(Array(text.utf8))
        let head = try #require(try parser.next()?.head)
        #expect(head.expectsContinue)
        #expect(try parser.next() == nil)
        parser.append(Array("abc".utf8))
        #expect(try parser.next() == .body(Array("abc".utf8)))
        #expect(try parser.next() == .end(trailers: [:]))
        #expect(parser.isIdle)
    }

    @Test("bare LF line endings and leading blank lines are accepted")
    func lenientLineEndings() {
        let outcome = parse("\r\n\nGET /a HTTP/1.1\nHost: a\n\n")
        #expect(outcome.error == nil)
        #expect(outcome.events.first?.head?.path == "/a")
        #expect(outcome.events.last == .end(trailers: [:]))
    }

    @Test("absolute-form targets keep their path and query")
    func absoluteForm() {
        let outcome = parse("GET http://example.com/v1/x?y=1 HTTP/1.1\r\nHost: example.com\r\n\r\n")
        #expect(outcome.events.first?.head?.path == "/v1/x")
        #expect(outcome.events.first?.head?.query == "y=1")
    }

    @Test("header values are trimmed of optional whitespace")
    func trimsValues() {
        let outcome = parse("GET / HTTP/1.1\r\nHost:   a b \t\r\nEmpty:\r\n\r\n")
        let head = outcome.events.first?.head
        #expect(head?.headers["host"] == "a b")
        #expect(head?.headers["empty"] == "")
    }

    @Test("a body at exactly the limit is accepted")
    func bodyAtLimit() {
        let limits = HTTPLimits(maxBodyBytes: 4)
        let fixed = parse("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n\r\nabcd", limits: limits)
        #expect(fixed.error == nil)
        let chunked = parse(
            "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n2\r\ncd\r\n0\r\n\r\n",
            limits: limits)
        #expect(chunked.error == nil)
        #expect(chunked.events.contains(.body(Array("abcd".utf8))))
    }

    @Test("the parser does not buffer an unfinished head beyond the header limit")
    func boundedHeadBuffer() {
        var parser = HTTPRequestParser(limits: HTTPLimits(maxHeaderBytes: 1024))
        parser.append(Array("GET / HTTP/1.1\r\nHost: a\r\n".utf8))
        var caught: HTTP1Error?
        for _ in 0..<200 {
            parser.append(Array("X-Fill: yyyyyyyyyyyyyyyyyyyyyy\r\n".utf8))
            do { _ = try parser.next() } catch {
                caught = error
                break
            }
            #expect(parser.numBufferedBytes <= 1024)
        }
        #expect(caught?.status.code == 431)
    }
}
