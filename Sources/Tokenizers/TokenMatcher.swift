/// Finds whole tokens (special or user-defined) in UTF-8 text, longest match first.
///
/// Buckets the tokens by first byte so a scan costs one array read per byte
/// that cannot start a token. Used to split text around special tokens and,
/// inside sentencepiece, to keep user-defined pieces whole.
struct TokenMatcher: Sendable {
    /// One piece of text after splitting: a run of plain text or a matched token.
    enum Segment: Equatable {
        case text(Range<Int>)
        case token(Int)
    }

    private var buckets: [[(bytes: [UInt8], id: Int)]] = Array(repeating: [], count: 256)
    private(set) var isEmpty = true

    init(tokens: [(content: String, id: Int)]) {
        for token in tokens where !token.content.isEmpty {
            let bytes = Array(token.content.utf8)
            buckets[Int(bytes[0])].append((bytes, token.id))
            isEmpty = false
        }
        for index in buckets.indices where buckets[index].count > 1 {
            buckets[index].sort { $0.bytes.count > $1.bytes.count }
        }
    }

    /// The longest token starting at `offset` (its id and byte length), if any.
    func match(_ bytes: [UInt8], at offset: Int, end: Int? = nil) -> (id: Int, length: Int)? {
        let limit = end ?? bytes.count
        for candidate in buckets[Int(bytes[offset])] where candidate.bytes.count <= limit - offset {
            var equal = true
            for index in 1..<candidate.bytes.count where bytes[offset + index] != candidate.bytes[index] {
                equal = false
                break
            }
            if equal { return (candidate.id, candidate.bytes.count) }
        }
        return nil
    }

    /// Splits `bytes` into text runs and matched tokens, scanning left to right.
    func split(_ bytes: [UInt8]) -> [Segment] {
        guard !isEmpty else { return bytes.isEmpty ? [] : [.text(0..<bytes.count)] }
        var segments: [Segment] = []
        var textStart = 0
        var offset = 0
        while offset < bytes.count {
            if let found = match(bytes, at: offset) {
                if textStart < offset { segments.append(.text(textStart..<offset)) }
                segments.append(.token(found.id))
                offset += found.length
                textStart = offset
            } else {
                offset += 1
            }
        }
        if textStart < bytes.count { segments.append(.text(textStart..<bytes.count)) }
        return segments
    }
}
