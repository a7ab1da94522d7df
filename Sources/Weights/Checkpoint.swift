import Foundation
import Tensors

/// A model directory's weights: one `model.safetensors`, or shards listed by
/// `model.safetensors.index.json` (`weight_map`: tensor name → file); models
/// ask it for tensors by their checkpoint names. A GGUF model becomes a
/// checkpoint of named tensors (`init(tensors:origin:)`) in the same names.
public struct Checkpoint: Sendable {
    public let directory: URL
    public let files: [SafetensorsFile]
    private let fileOfTensor: [String: Int]
    /// Tensors given by name rather than found in `files` (GGUF models).
    private let namedTensors: [String: WeightTensor]

    public init(directory: URL) throws(WeightsError) {
        self.directory = directory
        let index = directory.appendingPathComponent("model.safetensors.index.json")
        let single = directory.appendingPathComponent("model.safetensors")
        var names: [String]
        if FileManager.default.fileExists(atPath: index.path) {
            names = try Self.shardNames(index: index)
        } else if FileManager.default.fileExists(atPath: single.path) {
            names = ["model.safetensors"]
        } else {
            let all = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
            names = all.filter { $0.hasSuffix(".safetensors") }.sorted()
            if names.isEmpty {
                throw .cannotOpen(file: directory.path, reason: "no model.safetensors or model.safetensors.index.json")
            }
        }
        var files: [SafetensorsFile] = []
        var fileOfTensor: [String: Int] = [:]
        for name in names {
            let file = try SafetensorsFile(path: directory.appendingPathComponent(name).path)
            for tensor in file.entries.keys { fileOfTensor[tensor] = files.count }
            files.append(file)
        }
        self.files = files
        self.fileOfTensor = fileOfTensor
        self.namedTensors = [:]
    }

    /// A checkpoint of tensors already at hand, by checkpoint name; `origin` (a file) names it in errors.
    public init(tensors: [String: WeightTensor], origin: URL) {
        directory = origin
        files = []
        fileOfTensor = [:]
        namedTensors = tensors
    }

    private static func shardNames(index: URL) throws(WeightsError) -> [String] {
        guard let data = try? Data(contentsOf: index),
            let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        else { throw .badIndex(file: index.path, detail: "not a JSON object") }
        guard let map = object["weight_map"] as? [String: String] else {
            throw .badIndex(file: index.path, detail: "no weight_map")
        }
        return Array(Set(map.values)).sorted()
    }

    public var tensorNames: [String] { (Array(fileOfTensor.keys) + Array(namedTensors.keys)).sorted() }

    public func contains(_ name: String) -> Bool { fileOfTensor[name] != nil || namedTensors[name] != nil }

    /// The named tensor; throws `missingTensor`, or `shapeMismatch` when `shape` is given and differs.
    public func tensor(_ name: String, shape: [Int]? = nil) throws(WeightsError) -> WeightTensor {
        if let tensor = namedTensors[name] {
            if let shape, shape != tensor.shape {
                throw .shapeMismatch(file: directory.path, tensor: name, expected: shape, actual: tensor.shape)
            }
            return tensor
        }
        guard let i = fileOfTensor[name], let tensor = files[i].tensor(named: name) else {
            throw .missingTensor(tensor: name, files: files.isEmpty ? [directory.path] : files.map(\.path))
        }
        if let shape, shape != tensor.shape {
            throw .shapeMismatch(file: files[i].path, tensor: name, expected: shape, actual: tensor.shape)
        }
        return tensor
    }

    /// Total bytes of all tensors (what a device must hold).
    public var numBytes: Int {
        files.reduce(0) { $0 + $1.entries.values.reduce(0) { $0 + $1.end - $1.begin } }
            + namedTensors.values.reduce(0) { $0 + $1.byteCount }
    }
}
