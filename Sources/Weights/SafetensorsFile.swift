import Foundation
import Tensors

/// One `.safetensors` file: an 8-byte little-endian header length, a JSON
/// header `{name: {dtype, shape, data_offsets}}`, then the raw tensor bytes
/// (https://github.com/huggingface/safetensors, format description).
///
/// Tensors are views into the memory-mapped file; nothing is copied.
public struct SafetensorsFile: Sendable {
    public struct Entry: Sendable {
        public let dtype: DType
        public let shape: [Int]
        /// Byte range within the data section.
        public let begin: Int
        public let end: Int
    }

    public let file: MappedFile
    public let entries: [String: Entry]
    private let dataStart: Int

    public var path: String { file.path }
    public var tensorNames: [String] { entries.keys.sorted() }

    public init(path: String) throws(WeightsError) {
        let file = try MappedFile(path: path)
        guard file.byteCount >= 8 else {
            throw .truncated(file: path, detail: "\(file.byteCount) bytes, shorter than the 8-byte header length")
        }
        let headerLength = Int(UInt64(littleEndian: file.base.loadUnaligned(as: UInt64.self)))
        guard headerLength <= file.byteCount - 8 else {
            throw .truncated(file: path, detail: "header of \(headerLength) bytes but file has \(file.byteCount)")
        }
        let headerData = Data(bytes: file.base + 8, count: headerLength)
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: headerData)
        } catch {
            throw .corruptHeader(file: path, detail: "header is not JSON")
        }
        guard let header = object as? [String: Any] else {
            throw .corruptHeader(file: path, detail: "header is not a JSON object")
        }
        let dataStart = 8 + headerLength
        var entries: [String: Entry] = [:]
        for (name, value) in header where name != "__metadata__" {
            let entry = try Self.parseEntry(name: name, value: value, path: path)
            guard entry.end <= file.byteCount - dataStart else {
                throw .truncated(
                    file: path,
                    detail:
                        "tensor \(name) ends at byte \(entry.end) of a \(file.byteCount - dataStart)-byte data section")
            }
            entries[name] = entry
        }
        self.file = file
        self.entries = entries
        self.dataStart = dataStart
    }

    private static func parseEntry(name: String, value: Any, path: String) throws(WeightsError) -> Entry {
        guard let fields = value as? [String: Any],
            let dtypeName = fields["dtype"] as? String,
            let shape = (fields["shape"] as? [NSNumber])?.map(\.intValue),
            let offsets = (fields["data_offsets"] as? [NSNumber])?.map(\.intValue), offsets.count == 2
        else { throw .corruptHeader(file: path, detail: "tensor \(name) lacks dtype, shape or data_offsets") }
        guard let dtype = DType(rawValue: dtypeName) else {
            throw .unsupportedDType(file: path, tensor: name, dtype: dtypeName)
        }
        guard shape.allSatisfy({ $0 >= 0 }), offsets[0] >= 0, offsets[1] >= offsets[0] else {
            throw .corruptHeader(file: path, detail: "tensor \(name) has a negative shape or offsets")
        }
        let expectedBytes = shape.reduce(1, *) * dtype.byteSize
        guard offsets[1] - offsets[0] == expectedBytes else {
            throw .corruptHeader(
                file: path,
                detail:
                    "tensor \(name): data_offsets span \(offsets[1] - offsets[0]) bytes, shape needs \(expectedBytes)")
        }
        return Entry(dtype: dtype, shape: shape, begin: offsets[0], end: offsets[1])
    }

    /// The named tensor as a view into the mapped file, or nil when absent.
    public func tensor(named name: String) -> WeightTensor? {
        guard let entry = entries[name] else { return nil }
        return WeightTensor(
            dtype: entry.dtype, shape: entry.shape, data: file.base + dataStart + entry.begin, owner: file)
    }
}
