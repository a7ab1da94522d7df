import Foundation
import Tensors
import Testing

@testable import Weights

/// The safetensors reader: valid files, sharded checkpoints, and every corruption named clearly.
@Suite("Safetensors") final class SafetensorsTests {
    /// This test's own directory, removed when the test ends.
    let dir: URL

    init() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("pangu-weights-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: dir) }

    /// Writes a safetensors file from (name, dtype, shape, bytes); `header` overrides the JSON.
    static func write(
        _ tensors: [(String, String, [Int], [UInt8])], to url: URL, header: String? = nil, truncateBy: Int = 0
    ) throws {
        var offset = 0
        var fields: [String] = []
        var data: [UInt8] = []
        for (name, dtype, shape, bytes) in tensors {
            fields.append(
                "\"\(name)\":{\"dtype\":\"\(dtype)\",\"shape\":\(shape),\"data_offsets\":[\(offset),\(offset + bytes.count)]}"
            )
            offset += bytes.count
            data += bytes
        }
        let json = Array((header ?? "{\(fields.joined(separator: ","))}").utf8)
        var file = withUnsafeBytes(of: UInt64(json.count).littleEndian) { Array($0) } + json + data
        file.removeLast(min(truncateBy, file.count))
        try Data(file).write(to: url)
    }

    static let bf16Half: [UInt8] = [0x00, 0x3F]  // 0.5 in bf16, little-endian
    static func f32Bytes(_ values: [Float]) -> [UInt8] { values.flatMap { withUnsafeBytes(of: $0) { Array($0) } } }

    @Test("reads F32, F16 and BF16 tensors as views with their shapes and values")
    func readsDTypes() throws {
        let url = dir.appendingPathComponent("model.safetensors")
        try Self.write(
            [
                ("a", "F32", [2], Self.f32Bytes([1.5, -2])), ("b", "BF16", [1], Self.bf16Half),
                ("c", "F16", [1], [0x00, 0x3C]),
            ], to: url)
        let file = try SafetensorsFile(path: url.path)
        #expect(file.tensorNames == ["a", "b", "c"])
        #expect(file.tensor(named: "a")?.toFloats() == [1.5, -2])
        #expect(file.tensor(named: "b")?.toFloats() == [0.5])
        #expect(file.tensor(named: "c")?.toFloats() == [1.0])
        #expect(file.tensor(named: "a")?.shape == [2])
    }

    @Test("a file shorter than its header is reported as truncated, naming the file")
    func truncatedHeader() throws {
        let url = dir.appendingPathComponent("model.safetensors")
        try Self.write([("a", "F32", [2], Self.f32Bytes([1, 2]))], to: url, truncateBy: 20)
        #expect {
            try SafetensorsFile(path: url.path)
        } throws: { error in
            guard case WeightsError.truncated(let file, let detail) = error else { return false }
            return file == url.path && detail.contains("a")
        }
    }

    @Test("tensor data running past the end of the file is truncated, naming the tensor")
    func truncatedData() throws {
        let url = dir.appendingPathComponent("model.safetensors")
        try Self.write([("w", "F32", [4], Self.f32Bytes([1, 2, 3, 4]))], to: url, truncateBy: 4)
        #expect(
            throws: WeightsError.truncated(file: url.path, detail: "tensor w ends at byte 16 of a 12-byte data section")
        ) {
            try SafetensorsFile(path: url.path)
        }
    }

    @Test("a header that is not JSON, or lacks fields, is a corrupt header")
    func corruptHeader() throws {
        for (i, header) in ["{not json", "[1,2]", "{\"w\":{\"dtype\":\"F32\"}}"].enumerated() {
            let url = dir.appendingPathComponent("bad\(i).safetensors")
            try Self.write([], to: url, header: header)
            #expect {
                try SafetensorsFile(path: url.path)
            } throws: { error in
                guard case WeightsError.corruptHeader(let file, _) = error else { return false }
                return file == url.path
            }
        }
    }

    @Test("an unknown dtype names the file, tensor and dtype")
    func unsupportedDType() throws {
        let url = dir.appendingPathComponent("model.safetensors")
        try Self.write([("w", "I64", [1], [UInt8](repeating: 0, count: 8))], to: url)
        #expect(throws: WeightsError.unsupportedDType(file: url.path, tensor: "w", dtype: "I64")) {
            try SafetensorsFile(path: url.path)
        }
    }

    @Test("a sharded checkpoint finds each tensor in its shard; a missing tensor and a wrong shape are named")
    func shardedCheckpoint() throws {
        try Self.write([("x", "F32", [2], Self.f32Bytes([1, 2]))], to: dir.appendingPathComponent("s-1.safetensors"))
        try Self.write([("y", "BF16", [1, 1], Self.bf16Half)], to: dir.appendingPathComponent("s-2.safetensors"))
        let index = #"{"metadata":{},"weight_map":{"x":"s-1.safetensors","y":"s-2.safetensors"}}"#
        try Data(index.utf8).write(to: dir.appendingPathComponent("model.safetensors.index.json"))
        let checkpoint = try Checkpoint(directory: dir)
        #expect(checkpoint.tensorNames == ["x", "y"])
        #expect(try checkpoint.tensor("y", shape: [1, 1]).toFloats() == [0.5])
        #expect(checkpoint.numBytes == 10)
        #expect(throws: WeightsError.missingTensor(tensor: "z", files: checkpoint.files.map(\.path))) {
            try checkpoint.tensor("z")
        }
        let shard = dir.appendingPathComponent("s-1.safetensors").path
        #expect(throws: WeightsError.shapeMismatch(file: shard, tensor: "x", expected: [3], actual: [2])) {
            try checkpoint.tensor("x", shape: [3])
        }
        #expect(
            WeightsError.shapeMismatch(file: shard, tensor: "x", expected: [3], actual: [2]).description.contains("x"))
    }

    @Test("tensors are memory-mapped views, not heap copies")
    func mappedNotCopied() throws {
        let url = dir.appendingPathComponent("model.safetensors")
        try Self.write([("w", "F32", [2], Self.f32Bytes([3, 4]))], to: url)
        let file = try SafetensorsFile(path: url.path)
        let tensor = try #require(file.tensor(named: "w"))
        let mapped = file.file.base..<file.file.base + file.file.byteCount
        #expect(mapped.contains(tensor.data))
        let ownedByMapping = tensor.owner === file.file  // (=== inside #expect crashes swift 6.3's SILGen)
        #expect(ownedByMapping)
    }

    @Test("a directory without weights is refused with its path")
    func emptyDirectory() throws {
        #expect {
            try Checkpoint(directory: dir)
        } throws: { error in
            guard case WeightsError.cannotOpen(let file, _) = error else { return false }
            return file == dir.path
        }
    }
}
