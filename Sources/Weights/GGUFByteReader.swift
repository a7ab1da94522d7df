/// A bounds-checked little-endian cursor over a GGUF file's header bytes.
struct GGUFByteReader {
    let base: UnsafeRawPointer
    let count: Int
    let path: String
    var position = 0

    init(base: UnsafeRawPointer, count: Int, path: String) {
        self.base = base
        self.count = count
        self.path = path
    }

    mutating func skip(_ n: Int) throws(WeightsError) {
        guard n >= 0, n <= count - position else {
            throw .truncated(file: path, detail: "header needs \(n) bytes at offset \(position)")
        }
        position += n
    }

    mutating func bytes(_ n: Int) throws(WeightsError) -> [UInt8] {
        let start = position
        try skip(n)
        return Array(UnsafeRawBufferPointer(start: base + start, count: n))
    }

    mutating func scalar<T: FixedWidthInteger>(_: T.Type) throws(WeightsError) -> T {
        let start = position
        try skip(MemoryLayout<T>.size)
        return T(littleEndian: base.loadUnaligned(fromByteOffset: start, as: T.self))
    }

    mutating func string() throws(WeightsError) -> String {
        let n = Int(try scalar(UInt64.self))
        return String(decoding: try bytes(n), as: UTF8.self)
    }

    /// Reads one metadata value of GGUF type `type`; arrays are skipped and keep only their length.
    mutating func value(type: UInt32) throws(WeightsError) -> GGUFFile.Value {
        switch type {
        case 0: return .int(Int64(try scalar(UInt8.self)))
        case 1: return .int(Int64(try scalar(Int8.self)))
        case 2: return .int(Int64(try scalar(UInt16.self)))
        case 3: return .int(Int64(try scalar(Int16.self)))
        case 4: return .int(Int64(try scalar(UInt32.self)))
        case 5: return .int(Int64(try scalar(Int32.self)))
        case 6: return .float(Double(Float(bitPattern: try scalar(UInt32.self))))
        case 7: return .bool(try scalar(UInt8.self) != 0)
        case 8: return .string(try string())
        case 9:
            let elementType = try scalar(UInt32.self)
            let n = Int(try scalar(UInt64.self))
            let size: Int? = [0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8][elementType]
            if let size {
                guard n <= (count - position) / size else { throw .truncated(file: path, detail: "array of \(n)") }
                try skip(n * size)
            } else {
                for _ in 0..<n { _ = try value(type: elementType) }
            }
            return .array(count: n)
        case 10: return .int(Int64(bitPattern: try scalar(UInt64.self)))
        case 11: return .int(try scalar(Int64.self))
        case 12: return .float(Double(bitPattern: try scalar(UInt64.self)))
        default: throw .corruptHeader(file: path, detail: "metadata type \(type) at offset \(position)")
        }
    }
}
