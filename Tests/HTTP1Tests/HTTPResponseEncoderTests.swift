import HTTP1
import Testing

@Suite("HTTPResponseEncoder")
struct HTTPResponseEncoderTests {
    @Test("a fixed-length response carries Content-Length and the body")
    func fixedLength() {
        let head = HTTPResponseHead(status: .ok, headers: ["Content-Type": "text/plain"])
        let bytes = HTTPResponseEncoder.encode(head, body: Array("hi".utf8))
        #expect(
            String(decoding: bytes, as: UTF8.self)
                == "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nhi")
    }

    @Test("a 204 response never carries a body or Content-Length")
    func noContent() {
        let bytes = HTTPResponseEncoder.encode(HTTPResponseHead(status: .noContent), body: Array("x".utf8))
        #expect(String(decoding: bytes, as: UTF8.self) == "HTTP/1.1 204 No Content\r\n\r\n")
    }

    @Test("chunks round-trip through the request parser's chunked decoder")
    func chunkedRoundTrip() {
        var wire = Array("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n".utf8)
        let pieces = ["alpha", String(repeating: "b", count: 300), "", "γ"]
        for piece in pieces { wire += HTTPResponseEncoder.chunk(Array(piece.utf8)) }
        wire += HTTPResponseEncoder.lastChunk(trailers: ["X-Done": "1"])
        let outcome = parse(wire)
        #expect(outcome.error == nil)
        #expect(outcome.events.dropFirst().first == .body(Array(pieces.joined().utf8)))
        #expect(outcome.events.last == .end(trailers: ["X-Done": "1"]))
        #expect(Array(HTTPResponseEncoder.chunk(Array("0123456789abcdef!".utf8)).prefix(4)) == Array("11\r\n".utf8))
    }

    @Test("server-sent events are framed as data lines ending in a blank line")
    func serverSentEvents() {
        #expect(String(decoding: ServerSentEvent(data: "{\"x\":1}").encoded, as: UTF8.self) == "data: {\"x\":1}\n\n")
        #expect(String(decoding: ServerSentEvent.done.encoded, as: UTF8.self) == "data: [DONE]\n\n")
        let multi = ServerSentEvent(data: "a\nb\r\nc", event: "delta", id: "7")
        #expect(String(decoding: multi.encoded, as: UTF8.self) == "event: delta\nid: 7\ndata: a\ndata: b\ndata: c\n\n")
    }
}
