import Foundation

/// The key/value metadata of a GGUF file (v2/v3), read to build a tokenizer from
/// the `tokenizer.ggml.*` keys (https://github.com/ggml-org/ggml/blob/master/docs/gguf.md).
///
/// Internal to this module (the Weights module has its own GGUF reader for
/// tensors). Reads the header and every metadata value, including nested arrays; tensor
/// infos and data are not read. Truncated files and bad magic throw a
/// `TokenizerError` naming the file.
struct GGUFMetadata: Sendable {
    /// One metadata value. Integers keep their sign class; floats are widened to Double.
    enum Value: Sendable {
        case uint(UInt64)
        case int(Int64)
        case float(Double)
        case bool(Bool)
        case string(String)
        case array(ArrayValue)
    }

    /// An array value, stored by element kind.
    enum ArrayValue: Sendable {
        case uints([UInt64])
        case ints([Int64])
        case floats([Double])
        case bools([Bool])
        case strings(StringArray)
        case arrays([ArrayValue])
    }

    /// An array of strings kept as one UTF-8 buffer (a 150k-token vocabulary is
    /// read without 150k allocations); element i is `bytes[starts[i]..<starts[i + 1]]`.
    struct StringArray: Sendable {
        let bytes: [UInt8]
        let starts: [Int]

        var count: Int { starts.count - 1 }

        subscript(index: Int) -> String {
            String(decoding: bytes[starts[index]..<starts[index + 1]], as: UTF8.self)
        }

        /// All elements as Swift strings.
        var strings: [String] {
            bytes.withUnsafeBufferPointer { buffer in
                (0..<count).map {
                    String(decoding: UnsafeBufferPointer(rebasing: buffer[starts[$0]..<starts[$0 + 1]]), as: UTF8.self)
                }
            }
        }
    }

    let version: Int
    let numTensors: Int
    let values: [String: Value]

    init(version: Int, numTensors: Int, values: [String: Value]) {
        self.version = version
        self.numTensors = numTensors
        self.values = values
    }

    /// Reads the metadata of the GGUF file at `url`.
    static func load(contentsOf url: URL) throws -> GGUFMetadata {
        let data: Data
        do {
            data = try Data(contentsOf: url, options: .alwaysMapped)
        } catch {
            throw TokenizerError.unreadableFile(path: url.path, reason: "\(error)")
        }
        return try data.withUnsafeBytes { buffer in
            var reader = GGUFReader(buffer: buffer, path: url.path)
            return try reader.readMetadata()
        }
    }

    func string(_ key: String) -> String? {
        if case .string(let value) = values[key] { return value }
        return nil
    }

    func int(_ key: String) -> Int? {
        switch values[key] {
        case .uint(let value): return Int(exactly: value)
        case .int(let value): return Int(exactly: value)
        default: return nil
        }
    }

    func bool(_ key: String) -> Bool? {
        if case .bool(let value) = values[key] { return value }
        return nil
    }

    func strings(_ key: String) -> [String]? { stringArray(key)?.strings }

    func stringArray(_ key: String) -> StringArray? {
        if case .array(.strings(let value)) = values[key] { return value }
        return nil
    }

    func floats(_ key: String) -> [Double]? {
        if case .array(.floats(let value)) = values[key] { return value }
        return nil
    }

    /// An integer array of any integer element type.
    func ints(_ key: String) -> [Int]? {
        switch values[key] {
        case .array(.ints(let value)): return value.map { Int(truncatingIfNeeded: $0) }
        case .array(.uints(let value)): return value.map { Int(truncatingIfNeeded: $0) }
        default: return nil
        }
    }
}

/// Cursor over the raw bytes of a GGUF file.
private struct GGUFReader {
    let buffer: UnsafeRawBufferPointer
    let path: String
    var offset = 0

    init(buffer: UnsafeRawBufferPointer, path: String) {
        self.buffer = buffer
        self.path = path
    }

    mutating func readMetadata() throws -> GGUFMetadata {
        guard buffer.count >= 4, buffer.loadUnaligned(as: UInt32.self).littleEndian == 0x4655_4747 else {
            throw buffer.count < 4
                ? TokenizerError.truncatedFile(path: path, offset: buffer.count) : TokenizerError.badMagic(path: path)
        }
        offset = 4
        let version = Int(try read(UInt32.self))
        guard version == 2 || version == 3 else {
            throw TokenizerError.unsupportedVersion(path: path, version: version)
        }
        let numTensors = try readCount()
        let numValues = try readCount()
        var values: [String: GGUFMetadata.Value] = [:]
        for _ in 0..<numValues {
            let key = try readString()
            let type = try read(UInt32.self)
            values[key] = try readValue(type: type)
        }
        return GGUFMetadata(version: version, numTensors: numTensors, values: values)
    }

    @_optimize(speed)
    mutating func read<T: FixedWidthInteger>(_ type: T.Type) throws -> T {
        let size = MemoryLayout<T>.size
        guard buffer.count - offset >= size else { throw TokenizerError.truncatedFile(path: path, offset: offset) }
        let value = buffer.loadUnaligned(fromByteOffset: offset, as: T.self)
        offset += size
        return T(littleEndian: value)
    }

    /// A u64 count, checked against the bytes left (each element takes at least one byte).
    @_optimize(speed)
    mutating func readCount() throws -> Int {
        let count = try read(UInt64.self)
        guard count <= UInt64(buffer.count - offset) else {
            throw TokenizerError.truncatedFile(path: path, offset: offset)
        }
        return Int(count)
    }

    mutating func readString() throws -> String {
        let length = try readCount()
        let string = String(
            decoding: UnsafeRawBufferPointer(rebasing: buffer[offset..<(offset + length)]), as: UTF8.self)
        offset += length
        return string
    }

    mutating func readValue(type: UInt32) throws -> GGUFMetadata.Value {
        switch type {
        case 0: return .uint(UInt64(try read(UInt8.self)))
        case 1: return .int(Int64(try read(Int8.self)))
        case 2: return .uint(UInt64(try read(UInt16.self)))
        case 3: return .int(Int64(try read(Int16.self)))
        case 4: return .uint(UInt64(try read(UInt32.self)))
        case 5: return .int(Int64(try read(Int32.self)))
        case 6: return .float(Double(Float(bitPattern: try read(UInt32.self))))
        case 7: return .bool(try read(UInt8.self) != 0)
        case 8: return .string(try readString())
        case 9: return .array(try readArray())
        case 10: return .uint(try read(UInt64.self))
        case 11: return .int(try read(Int64.self))
        case 12: return .float(Double(bitPattern: try read(UInt64.self)))
        default:
            throw TokenizerError.malformed(path: path, reason: "unknown GGUF value type \(type) at byte \(offset)")
        }
    }

    @_optimize(speed)
    mutating func readStringArray(count: Int) throws -> GGUFMetadata.StringArray {
        var bytes: [UInt8] = []
        var starts: [Int] = [0]
        starts.reserveCapacity(count + 1)
        for _ in 0..<count {
            let length = try readCount()
            bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: buffer[offset..<(offset + length)]))
            offset += length
            starts.append(bytes.count)
        }
        return GGUFMetadata.StringArray(bytes: bytes, starts: starts)
    }

    mutating func readArray() throws -> GGUFMetadata.ArrayValue {
        let type = try read(UInt32.self)
        let count = try readCount()
        switch type {
        case 8:
            return .strings(try readStringArray(count: count))
        case 9:
            var arrays: [GGUFMetadata.ArrayValue] = []
            for _ in 0..<count { arrays.append(try readArray()) }
            return .arrays(arrays)
        case 6:
            var floats: [Double] = []
            floats.reserveCapacity(count)
            for _ in 0..<count { floats.append(Double(Float(bitPattern: try read(UInt32.self)))) }
            return .floats(floats)
        default:
            return try readScalarArray(type: type, count: count)
        }
    }

    /// Arrays of integers, bools and f64, read through `readValue`.
    mutating func readScalarArray(type: UInt32, count: Int) throws -> GGUFMetadata.ArrayValue {
        var uints: [UInt64] = []
        var ints: [Int64] = []
        var floats: [Double] = []
        var bools: [Bool] = []
        for _ in 0..<count {
            switch try readValue(type: type) {
            case .uint(let value): uints.append(value)
            case .int(let value): ints.append(value)
            case .float(let value): floats.append(value)
            case .bool(let value): bools.append(value)
            case .string, .array:
                throw TokenizerError.malformed(path: path, reason: "unexpected GGUF array element type \(type)")
            }
        }
        switch type {
        case 0, 2, 4, 10: return .uints(uints)
        case 1, 3, 5, 11: return .ints(ints)
        case 7: return .bools(bools)
        default: return .floats(floats)
        }
    }
}
