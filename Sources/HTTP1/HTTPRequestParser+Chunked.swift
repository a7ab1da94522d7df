/// Chunked transfer coding of request bodies (RFC 9112 §7.1): chunk-size lines, data, trailer section.
extension HTTPRequestParser {
    mutating func parseChunkSize() throws(HTTP1Error) -> Event? {
        let searchEnd = min(buffer.count, readIndex + limits.maxChunkLineBytes + 2)
        guard let lineFeed = buffer[readIndex..<searchEnd].firstIndex(of: HTTPRequestParser.lf) else {
            if buffer.count - readIndex > limits.maxChunkLineBytes + 1 {
                throw .malformed("chunk-size line too long")
            }
            return nil
        }
        var lineEnd = lineFeed
        if lineEnd > readIndex && buffer[lineEnd - 1] == HTTPRequestParser.cr { lineEnd -= 1 }
        let size = try parseChunkSizeLine(buffer[readIndex..<lineEnd])
        readIndex = lineFeed + 1
        if size == 0 {
            state = .trailers
            resetScanner()
            return try parseTrailersIfComplete()
        }
        if size > limits.maxBodyBytes - numBodyBytes { throw .bodyTooLarge(limit: limits.maxBodyBytes) }
        numBodyBytes += size
        state = .chunkData(remaining: size)
        return try next()
    }

    /// `chunk-size [ BWS ; chunk-ext ]`; extensions are accepted and ignored.
    private func parseChunkSizeLine(_ line: ArraySlice<UInt8>) throws(HTTP1Error) -> Int {
        var size = 0
        var numDigits = 0
        var index = line.startIndex
        while index < line.endIndex, let digit = HTTPRequestParser.hexValue(line[index]) {
            guard numDigits < 15 else { throw .malformed("chunk size overflows") }
            size = size << 4 | digit
            numDigits += 1
            index += 1
        }
        guard numDigits > 0 else { throw .malformed("invalid chunk size") }
        while index < line.endIndex && HTTPRequestParser.isWhitespace(line[index]) { index += 1 }
        if index < line.endIndex {
            guard line[index] == UInt8(ascii: ";") else { throw .malformed("invalid chunk size") }
            let extensions = line[(index + 1)...]
            guard extensions.allSatisfy({ ($0 >= 0x20 && $0 != 0x7F) || $0 == HTTPRequestParser.tab }) else {
                throw .malformed("invalid chunk extension")
            }
        }
        return size
    }

    mutating func parseTrailersIfComplete() throws(HTTP1Error) -> Event? {
        guard let blockEnd = try scanBlock(isHead: false) else { return nil }
        let trailers = try parseFields(from: readIndex, to: blockEnd)
        readIndex = blockEnd
        state = .head
        numBodyBytes = 0
        resetScanner()
        return .end(trailers: trailers)
    }

    static func hexValue(_ byte: UInt8) -> Int? {
        switch byte {
        case 0x30...0x39: Int(byte - 0x30)
        case UInt8(ascii: "a")...UInt8(ascii: "f"): Int(byte - UInt8(ascii: "a") + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): Int(byte - UInt8(ascii: "A") + 10)
        default: nil
        }
    }
}
