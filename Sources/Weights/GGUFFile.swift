import Foundation
import Tensors

/// A GGUF model file (v2/v3, https://github.com/ggml-org/ggml/blob/master/docs/gguf.md)
/// memory-mapped: its scalar metadata, and tensors as views in llama.cpp's names
/// (`blk.0.attn_q.weight`); the model loader maps them to checkpoint names.
///
/// Tensor types F32, F16, BF16, Q8_0, Q4_0 and the k-quants Q4_K and Q6_K are
/// supported (a block-quantized tensor's rows must hold whole blocks: 32
/// weights, or super-blocks of 256 for the k-quants); data starts at the first
/// multiple of `general.alignment` (default 32) after the tensor infos.
/// GGUF lists dimensions innermost first; `shape` here is row-major (reversed).
public final class GGUFFile: Sendable {
    /// A scalar metadata value (arrays keep only their length).
    public enum Value: Sendable, Equatable {
        case int(Int64)
        case float(Double)
        case bool(Bool)
        case string(String)
        case array(count: Int)
    }

    struct Entry: Sendable {
        let dtype: DType
        let shape: [Int]
        let offset: Int
    }

    public let path: String
    public let metadata: [String: Value]
    private let file: MappedFile
    private let entries: [String: Entry]
    private let dataStart: Int

    public init(path: String) throws(WeightsError) {
        let file = try MappedFile(path: path)
        var reader = GGUFByteReader(base: file.base, count: file.byteCount, path: path)
        guard try reader.bytes(4) == Array("GGUF".utf8) else {
            throw .corruptHeader(file: path, detail: "no GGUF magic")
        }
        let version = try reader.scalar(UInt32.self)
        guard version == 2 || version == 3 else { throw .corruptHeader(file: path, detail: "GGUF version \(version)") }
        let numTensors = Int(try reader.scalar(UInt64.self))
        let numValues = Int(try reader.scalar(UInt64.self))
        var metadata: [String: Value] = [:]
        for _ in 0..<numValues {
            let key = try reader.string()
            metadata[key] = try reader.value(type: try reader.scalar(UInt32.self))
        }
        var entries: [String: Entry] = [:]
        for _ in 0..<numTensors {
            let name = try reader.string()
            let numDims = Int(try reader.scalar(UInt32.self))
            guard numDims <= 4 else { throw .corruptHeader(file: path, detail: "\(name) has \(numDims) dimensions") }
            var dims: [Int] = []
            for _ in 0..<numDims { dims.append(Int(try reader.scalar(UInt64.self))) }
            let type = try reader.scalar(UInt32.self)
            let offset = Int(try reader.scalar(UInt64.self))
            guard let dtype = Self.dtype(ggmlType: type) else {
                throw .unsupportedDType(file: path, tensor: name, dtype: "GGML type \(type)")
            }
            entries[name] = Entry(dtype: dtype, shape: dims.reversed(), offset: offset)
        }
        var alignment = 32
        if case .int(let value) = metadata["general.alignment"], value > 0 { alignment = Int(value) }
        let dataStart = (reader.position + alignment - 1) / alignment * alignment
        for (name, entry) in entries {
            let rowLength = entry.shape.last ?? 1
            guard rowLength % entry.dtype.blockSize == 0 else {
                let blockSize = entry.dtype.blockSize
                let unit = blockSize == DType.kQuantBlockSize ? "super-blocks" : "blocks"
                throw .corruptHeader(
                    file: path,
                    detail: "\(name): \(entry.dtype.rawValue) rows of \(rowLength) are not whole \(unit) of \(blockSize)"
                )
            }
            let end = dataStart + entry.offset + entry.dtype.byteCount(numElements: entry.shape.reduce(1, *))
            guard end <= file.byteCount else {
                throw .truncated(file: path, detail: "tensor \(name) ends past the file")
            }
        }
        self.path = path
        self.file = file
        self.metadata = metadata
        self.entries = entries
        self.dataStart = dataStart
    }

    /// GGML type ids: F32 0, F16 1, Q4_0 2, Q8_0 8, Q4_K 12, Q6_K 14, BF16 30.
    static func dtype(ggmlType: UInt32) -> DType? {
        switch ggmlType {
        case 0: .f32
        case 1: .f16
        case 2: .q4_0
        case 8: .q8_0
        case 12: .q4_K
        case 14: .q6_K
        case 30: .bf16
        default: nil
        }
    }

    public var tensorNames: [String] { entries.keys.sorted() }

    public func contains(_ name: String) -> Bool { entries[name] != nil }

    /// The named tensor as a view into the mapped file, or nil when absent.
    public func tensor(named name: String) -> WeightTensor? {
        guard let entry = entries[name] else { return nil }
        return WeightTensor(
            dtype: entry.dtype, shape: entry.shape, data: file.base + dataStart + entry.offset, owner: file)
    }

    public func int(_ key: String) -> Int? {
        if case .int(let value) = metadata[key] { return Int(value) }
        return nil
    }

    public func double(_ key: String) -> Double? {
        switch metadata[key] {
        case .float(let value): value
        case .int(let value): Double(value)
        default: nil
        }
    }

    public func string(_ key: String) -> String? {
        if case .string(let value) = metadata[key] { return value }
        return nil
    }

    public func arrayCount(_ key: String) -> Int? {
        if case .array(let count) = metadata[key] { return count }
        return nil
    }
}
