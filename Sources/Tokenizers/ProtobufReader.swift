/// Minimal reader of the protobuf wire format, enough to decode sentencepiece's
/// `ModelProto` (https://protobuf.dev/programming-guides/encoding/).
///
/// Reads fields one at a time from a byte buffer; unknown fields are skipped by
/// the caller with `skip(wireType:)`. Throws `TokenizerError.truncatedFile` when a
/// field runs past the end.
struct ProtobufReader {
    /// Protobuf wire types.
    enum WireType: UInt64 {
        case varint = 0
        case fixed64 = 1
        case lengthDelimited = 2
        case startGroup = 3
        case endGroup = 4
        case fixed32 = 5
    }

    let bytes: [UInt8]
    let path: String
    private(set) var offset: Int
    let end: Int

    init(bytes: [UInt8], path: String, range: Range<Int>? = nil) {
        self.bytes = bytes
        self.path = path
        self.offset = range?.lowerBound ?? 0
        self.end = range?.upperBound ?? bytes.count
    }

    var isAtEnd: Bool { offset >= end }

    /// Reads the next field key: (field number, wire type).
    @_optimize(speed)
    mutating func readKey() throws -> (field: Int, wireType: WireType) {
        let key = try readVarint()
        guard let wireType = WireType(rawValue: key & 7) else {
            throw TokenizerError.malformed(path: path, reason: "unknown protobuf wire type \(key & 7) at \(offset)")
        }
        return (Int(key >> 3), wireType)
    }

    @_optimize(speed)
    mutating func readVarint() throws -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard offset < end else { throw TokenizerError.truncatedFile(path: path, offset: offset) }
            let byte = bytes[offset]
            offset += 1
            if shift < 64 { result |= UInt64(byte & 0x7F) << shift }
            if byte & 0x80 == 0 { return result }
            shift += 7
            if shift > 70 {
                throw TokenizerError.malformed(path: path, reason: "varint too long at \(offset)")
            }
        }
    }

    @_optimize(speed)
    mutating func readFixed32() throws -> UInt32 {
        guard end - offset >= 4 else { throw TokenizerError.truncatedFile(path: path, offset: offset) }
        var value: UInt32 = 0
        for index in 0..<4 { value |= UInt32(bytes[offset + index]) << (8 * UInt32(index)) }
        offset += 4
        return value
    }

    mutating func readFloat() throws -> Float { Float(bitPattern: try readFixed32()) }

    /// Reads a length prefix and returns the byte range of the payload, moving past it.
    @_optimize(speed)
    mutating func readLengthDelimited() throws -> Range<Int> {
        let length = try readVarint()
        guard length <= UInt64(end - offset) else { throw TokenizerError.truncatedFile(path: path, offset: offset) }
        let range = offset..<(offset + Int(length))
        offset = range.upperBound
        return range
    }

    @_optimize(speed)
    mutating func readString() throws -> String {
        let range = try readLengthDelimited()
        return String(decoding: bytes[range], as: UTF8.self)
    }

    mutating func readBool() throws -> Bool { try readVarint() != 0 }

    /// Reads a varint holding a (possibly negative, sign-extended) int32.
    mutating func readInt32() throws -> Int { Int(Int32(truncatingIfNeeded: try readVarint())) }

    /// A reader over a nested message's bytes.
    func subReader(_ range: Range<Int>) -> ProtobufReader {
        ProtobufReader(bytes: bytes, path: path, range: range)
    }

    @_optimize(speed)
    mutating func skip(wireType: WireType) throws {
        switch wireType {
        case .varint: _ = try readVarint()
        case .fixed64:
            guard end - offset >= 8 else { throw TokenizerError.truncatedFile(path: path, offset: offset) }
            offset += 8
        case .lengthDelimited: _ = try readLengthDelimited()
        case .fixed32: _ = try readFixed32()
        case .startGroup, .endGroup:
            throw TokenizerError.unsupported(path: path, feature: "protobuf groups")
        }
    }
}
