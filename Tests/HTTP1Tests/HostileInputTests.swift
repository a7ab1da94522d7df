import HTTP1
import Testing

let hostileLimits = HTTPLimits(maxHeaderBytes: 512, maxNumHeaders: 8, maxURILength: 64, maxBodyBytes: 100)

/// Malformed and hostile requests with the status the server must answer.
let hostileCases: [(String, Int)] = [
    ("GET / HTTP/1.1\r\nHost: a\r\nBad Header: x\r\n\r\n", 400),
    ("GET / HTTP/1.1\r\nHost: a\r\n: empty-name\r\n\r\n", 400),
    ("GET / HTTP/1.1\r\nHost: a\r\nNoColon\r\n\r\n", 400),
    ("GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n folded\r\n\r\n", 400),
    ("GET / HTTP/1.1\r\nHost: a\r\nX: a\u{1}b\r\n\r\n", 400),
    ("GET / HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n", 400),
    ("GET / HTTP/1.1\r\n\r\n", 400),
    ("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400),
    ("GET /\r\n\r\n", 400),
    ("GET  / HTTP/1.1\r\nHost: a\r\n\r\n", 400),
    ("G(T / HTTP/1.1\r\nHost: a\r\n\r\n", 400),
    ("GET nopath HTTP/1.1\r\nHost: a\r\n\r\n", 400),
    ("GET / HTTX/1.1\r\nHost: a\r\n\r\n", 400),
    ("GET / HTTP/1.1 extra\r\nHost: a\r\n\r\n", 400),
    ("\rGET / HTTP/1.1\r\nHost: a\r\n\r\n", 400),
    ("GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505),
    ("GET / HTTP/0.9\r\nHost: a\r\n\r\n", 505),
    ("GET /\(String(repeating: "a", count: 65)) HTTP/1.1\r\nHost: a\r\n\r\n", 414),
    ("GET /\(String(repeating: "a", count: 300))", 414),
    ("GET / HTTP/1.1\r\nHost: a\r\nX: \(String(repeating: "v", count: 600))\r\n\r\n", 431),
    ("GET / HTTP/1.1\r\nHost: a\r\n" + String(repeating: "X: 1\r\n", count: 9) + "\r\n", 431),
    ("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 101\r\n\r\n", 413),
    ("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999999\r\n\r\n", 413),
    ("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", 400),
    ("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1x\r\n\r\n", 400),
    ("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", 400),
    ("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3, 4\r\n\r\nabcd", 400),
    ("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
    ("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501),
    ("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: identity\r\n\r\n", 501),
    ("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", 400),
    ("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
    ("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400),
    ("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n\r\n", 400),
    ("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n", 400),
    ("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffffff\r\n", 400),
    ("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3 x\r\n", 400),
    ("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n65\r\n", 413),
    (
        "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n40\r\n" + String(repeating: "x", count: 64)
            + "\r\n40\r\n", 413
    ),
    (
        "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n"
            + String(repeating: "T: 1\r\n", count: 9)
            + "\r\n", 431
    ),
    ("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nBad Trailer: 1\r\n\r\n", 400),
]

@Suite("Hostile input")
struct HostileInputTests {
    @Test("each malformed or hostile request maps to its status")
    func statusTable() {
        for (input, status) in hostileCases {
            let outcome = parse(input, limits: hostileLimits)
            #expect(outcome.error?.status.code == status, "input: \(input.debugDescription)")
        }
    }

    @Test("after an error the parser keeps failing with the same error")
    func errorIsSticky() {
        var parser = HTTPRequestParser()
        parser.append(Array("GET / HTTP/3.0\r\nHost: a\r\n\r\n".utf8))
        #expect(throws: HTTP1Error.unsupportedVersion("HTTP/3.0")) { try parser.next() }
        parser.append(Array("GET / HTTP/1.1\r\nHost: a\r\n\r\n".utf8))
        #expect(throws: HTTP1Error.unsupportedVersion("HTTP/3.0")) { try parser.next() }
    }
}
