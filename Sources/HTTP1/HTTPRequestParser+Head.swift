/// Request-line and header-section parsing (RFC 9112 §3 and §5).
extension HTTPRequestParser {
    static let lf = UInt8(ascii: "\n")
    static let cr = UInt8(ascii: "\r")
    static let space = UInt8(ascii: " ")
    static let tab = UInt8(ascii: "\t")
    static let colon = UInt8(ascii: ":")
    /// Longest method token accepted; a longer first word is malformed.
    static let maxMethodLength = 64

    mutating func parseHeadIfComplete() throws(HTTP1Error) -> Event? {
        if scanOffset == 0 {
            // Ignore blank lines before a request line (RFC 9112 §2.2).
            while let length = lineEndLength(at: readIndex) {
                if length == 0 { break }
                readIndex += length
            }
            if readIndex < buffer.count && buffer[readIndex] == HTTPRequestParser.cr && readIndex + 1 == buffer.count {
                return nil
            }
        }
        guard let blockEnd = try scanBlock(isHead: true) else {
            try checkIncompleteHead()
            return nil
        }
        guard let requestLine = pendingRequestLine else {
            throw .malformed("missing request line")
        }
        let headerStart = readIndex + requestLine.length
        let headers = try parseFields(from: headerStart, to: blockEnd)
        var head = HTTPRequestHead(
            method: requestLine.method, target: requestLine.target, version: requestLine.version, headers: headers)
        head.bodyLength = try bodyLength(of: head)
        readIndex = blockEnd
        resetScanner()
        pendingRequestLine = nil
        switch head.bodyLength {
        case .fixed(let length): state = .fixedBody(remaining: length)
        case .chunked: state = .chunkSize
        }
        return .head(head)
    }

    /// Finds the blank line ending a head or trailer block, resuming where the previous call stopped.
    /// Returns the absolute index just past the blank line, or nil when it has not arrived yet.
    mutating func scanBlock(isHead: Bool) throws(HTTP1Error) -> Int? {
        var index = readIndex + scanOffset
        let count = buffer.count
        while index < count {
            let found: Int? = buffer.withUnsafeBufferPointer { bytes in
                var cursor = index
                while cursor < count {
                    if bytes[cursor] == HTTPRequestParser.lf { return cursor }
                    cursor += 1
                }
                return nil
            }
            guard let lineFeed = found else {
                index = count
                break
            }
            let lineStart = readIndex + lineStartOffset
            var lineEnd = lineFeed
            if lineEnd > lineStart && buffer[lineEnd - 1] == HTTPRequestParser.cr { lineEnd -= 1 }
            if lineEnd == lineStart && !(isHead && numBlockLines == 0) {
                try checkBlockSize(lineFeed + 1 - readIndex)
                return lineFeed + 1
            }
            if isHead && numBlockLines == 0 {
                pendingRequestLine = try parseRequestLine(
                    from: lineStart, to: lineEnd, length: lineFeed + 1 - lineStart)
            }
            numBlockLines += 1
            let numFields = isHead ? numBlockLines - 1 : numBlockLines
            if numFields > limits.maxNumHeaders { throw .headersTooLarge(limit: limits.maxNumHeaders) }
            lineStartOffset = lineFeed + 1 - readIndex
            index = lineFeed + 1
        }
        scanOffset = index - readIndex
        // An unfinished request line is bounded by `checkIncompleteHead` instead, so that its verdict
        // (400/414) does not depend on how the bytes were split.
        if !(isHead && numBlockLines == 0) { try checkBlockSize(scanOffset) }
        return nil
    }

    private func checkBlockSize(_ numBytes: Int) throws(HTTP1Error) {
        if numBytes > limits.maxHeaderBytes { throw .headersTooLarge(limit: limits.maxHeaderBytes) }
    }

    /// Rejects an unfinished request line once it is longer than any acceptable one
    /// (`maxURILength` + method + version), with the status the complete line would get.
    private func checkIncompleteHead() throws(HTTP1Error) {
        guard numBlockLines == 0 else { return }
        let numBytes = buffer.count - readIndex
        guard numBytes > limits.maxURILength + HTTPRequestParser.maxMethodLength + 16 else { return }
        let prefixEnd = min(buffer.count, readIndex + HTTPRequestParser.maxMethodLength + 1)
        guard let firstSpace = buffer[readIndex..<prefixEnd].firstIndex(of: HTTPRequestParser.space) else {
            throw .malformed("request line has no method")
        }
        let methodBytes = buffer[readIndex..<firstSpace]
        guard !methodBytes.isEmpty, methodBytes.allSatisfy(HTTPRequestParser.isTokenByte) else {
            throw .malformed("invalid method")
        }
        let afterMethod = firstSpace + 1
        let targetEnd = buffer[afterMethod...].firstIndex(of: HTTPRequestParser.space) ?? buffer.count
        if targetEnd - afterMethod > limits.maxURILength { throw .uriTooLong(limit: limits.maxURILength) }
        // The target fits, so what follows it is far too long to be a protocol version.
        throw .malformed("invalid protocol version")
    }

    struct RequestLine: Sendable {
        var method: HTTPMethod
        var target: String
        var version: HTTPVersion
        /// Bytes of the line including its terminator.
        var length: Int
    }

    func parseRequestLine(from start: Int, to end: Int, length: Int) throws(HTTP1Error) -> RequestLine {
        let line = buffer[start..<end]
        guard let firstSpace = line.firstIndex(of: HTTPRequestParser.space) else {
            throw .malformed("request line has no target")
        }
        let methodBytes = buffer[start..<firstSpace]
        guard !methodBytes.isEmpty, methodBytes.count <= HTTPRequestParser.maxMethodLength,
            methodBytes.allSatisfy(HTTPRequestParser.isTokenByte)
        else { throw .malformed("invalid method") }
        let afterMethod = firstSpace + 1
        let secondSpace = buffer[afterMethod..<end].firstIndex(of: HTTPRequestParser.space) ?? end
        let targetBytes = buffer[afterMethod..<secondSpace]
        if targetBytes.count > limits.maxURILength { throw .uriTooLong(limit: limits.maxURILength) }
        guard secondSpace < end else { throw .malformed("request line has no version") }
        guard !targetBytes.isEmpty, targetBytes.allSatisfy({ $0 > 0x20 && $0 != 0x7F }) else {
            throw .malformed("invalid request target")
        }
        let target = String(decoding: targetBytes, as: UTF8.self)
        guard target.hasPrefix("/") || target == "*" || target.contains("://") else {
            throw .malformed("unsupported request-target form")
        }
        let version = try parseVersion(buffer[(secondSpace + 1)..<end])
        return RequestLine(
            method: HTTPMethod(String(decoding: methodBytes, as: UTF8.self)), target: target, version: version,
            length: length)
    }

    private func parseVersion(_ bytes: ArraySlice<UInt8>) throws(HTTP1Error) -> HTTPVersion {
        let text = String(decoding: bytes, as: UTF8.self)
        let digits = Array(bytes.dropFirst(5))
        guard bytes.count == 8, text.hasPrefix("HTTP/"), digits[1] == UInt8(ascii: "."),
            HTTPRequestParser.isDigit(digits[0]), HTTPRequestParser.isDigit(digits[2])
        else { throw .malformed("invalid protocol version") }
        let major = Int(digits[0] - UInt8(ascii: "0"))
        let minor = Int(digits[2] - UInt8(ascii: "0"))
        guard major == 1 else { throw .unsupportedVersion(text) }
        return HTTPVersion(major: 1, minor: minor)
    }

    /// Parses `name: value` lines between `start` and the blank line ending at `end`.
    func parseFields(from start: Int, to end: Int) throws(HTTP1Error) -> HTTPHeaders {
        var headers = HTTPHeaders()
        var lineStart = start
        while lineStart < end {
            guard let lineFeed = buffer[lineStart..<end].firstIndex(of: HTTPRequestParser.lf) else { break }
            var lineEnd = lineFeed
            if lineEnd > lineStart && buffer[lineEnd - 1] == HTTPRequestParser.cr { lineEnd -= 1 }
            if lineEnd == lineStart { break }
            let first = buffer[lineStart]
            if first == HTTPRequestParser.space || first == HTTPRequestParser.tab {
                throw .malformed("obsolete line folding")
            }
            guard let colon = buffer[lineStart..<lineEnd].firstIndex(of: HTTPRequestParser.colon) else {
                throw .malformed("header line without colon")
            }
            let name = buffer[lineStart..<colon]
            guard !name.isEmpty, name.allSatisfy(HTTPRequestParser.isTokenByte) else {
                throw .malformed("invalid header name")
            }
            var valueStart = colon + 1
            var valueEnd = lineEnd
            while valueStart < valueEnd && HTTPRequestParser.isWhitespace(buffer[valueStart]) { valueStart += 1 }
            while valueEnd > valueStart && HTTPRequestParser.isWhitespace(buffer[valueEnd - 1]) { valueEnd -= 1 }
            let value = buffer[valueStart..<valueEnd]
            guard value.allSatisfy({ ($0 >= 0x20 && $0 != 0x7F) || $0 == HTTPRequestParser.tab }) else {
                throw .malformed("invalid character in header value")
            }
            headers.add(name: String(decoding: name, as: UTF8.self), value: String(decoding: value, as: UTF8.self))
            lineStart = lineFeed + 1
        }
        return headers
    }

    /// Decides body framing (RFC 9112 §6.3) and applies the body limit to a declared length.
    func bodyLength(of head: HTTPRequestHead) throws(HTTP1Error) -> HTTPRequestHead.BodyLength {
        let headers = head.headers
        if head.version.minor >= 1 {
            let hosts = headers.values(for: "Host")
            guard hosts.count == 1 else { throw .malformed("HTTP/1.1 request needs exactly one Host header") }
        }
        if headers.contains("Transfer-Encoding") {
            guard head.version.minor >= 1 else { throw .malformed("Transfer-Encoding in an HTTP/1.0 request") }
            guard !headers.contains("Content-Length") else {
                throw .malformed("both Transfer-Encoding and Content-Length")
            }
            let codings = headers.tokens(for: "Transfer-Encoding")
            if let unsupported = codings.first(where: { $0 != "chunked" }) {
                throw .unsupportedTransferCoding(unsupported)
            }
            guard codings.count == 1 else { throw .malformed("invalid Transfer-Encoding") }
            return .chunked
        }
        let lengths = headers.values(for: "Content-Length").flatMap {
            $0.split(separator: ",", omittingEmptySubsequences: false)
        }
        guard let first = lengths.first else { return .fixed(0) }
        let declared = HTTPHeaders.trimmed(first)
        guard lengths.allSatisfy({ HTTPHeaders.trimmed($0) == declared }) else {
            throw .malformed("conflicting Content-Length values")
        }
        guard !declared.isEmpty, declared.utf8.count <= 18, declared.utf8.allSatisfy(HTTPRequestParser.isDigit),
            let length = Int(declared)
        else {
            if !declared.isEmpty && declared.utf8.allSatisfy(HTTPRequestParser.isDigit) {
                throw .bodyTooLarge(limit: limits.maxBodyBytes)
            }
            throw .malformed("invalid Content-Length")
        }
        if length > limits.maxBodyBytes { throw .bodyTooLarge(limit: limits.maxBodyBytes) }
        return .fixed(length)
    }

    @inline(__always)
    static func isDigit(_ byte: UInt8) -> Bool { byte >= 0x30 && byte <= 0x39 }

    @inline(__always)
    static func isWhitespace(_ byte: UInt8) -> Bool { byte == space || byte == tab }

    /// `tchar` of RFC 9110 §5.6.2.
    static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), 0x30...0x39: true
        case UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "%"), UInt8(ascii: "&"),
            UInt8(ascii: "'"), UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."),
            UInt8(ascii: "^"), UInt8(ascii: "_"), UInt8(ascii: "`"), UInt8(ascii: "|"), UInt8(ascii: "~"):
            true
        default: false
        }
    }
}
