import Foundation

/// Locates the shared reference data (`../shared/data` next to the package root).
enum SharedData {
    static let packageRoot: URL = {
        var url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        while url.path != "/" {
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { return url }
            url.deleteLastPathComponent()
        }
        return url
    }()

    static let root = packageRoot.appendingPathComponent("../shared/data").standardizedFileURL
    static let tokenizers = root.appendingPathComponent("tokenizers")

    static var isAvailable: Bool {
        let available = FileManager.default.fileExists(atPath: tokenizers.appendingPathComponent("README.md").path)
        if !available { print("note: \(root.path) is absent; shared-data tokenizer tests are skipped") }
        return available
    }

    static func url(_ relativePath: String) -> URL { tokenizers.appendingPathComponent(relativePath) }
}

/// One case of `llama2-spm/cases.json`.
struct SentencePieceCase: Decodable {
    let name: String
    let text: String
    let utf8_hex: String
    let ids: [Int]
    let decoded: String

    /// The exact input text (from the authoritative hex bytes).
    var input: String {
        var bytes: [UInt8] = []
        var index = utf8_hex.startIndex
        while index < utf8_hex.endIndex {
            let next = utf8_hex.index(index, offsetBy: 2)
            bytes.append(UInt8(utf8_hex[index..<next], radix: 16) ?? 0)
            index = next
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    static func loadAll() throws -> [SentencePieceCase] {
        struct File: Decodable { let cases: [SentencePieceCase] }
        let data = try Data(contentsOf: SharedData.url("llama2-spm/cases.json"))
        return try JSONDecoder().decode(File.self, from: data).cases
    }
}

/// The llama.cpp `.inp`/`.out` vectors of one vocabulary.
struct VocabVectors {
    let inputs: [String]
    let expected: [[Int]]

    init(vocab name: String) throws {
        let raw = try String(contentsOf: SharedData.url("\(name).gguf.inp"), encoding: .utf8)
        let separator = "\n__ggml_vocab_test__\n"
        var inputs: [String] = []
        var rest = Substring(raw)
        while !rest.isEmpty {
            guard let range = rest.range(of: separator) else {
                inputs.append(String(rest))
                break
            }
            inputs.append(String(rest[..<range.lowerBound]))
            rest = rest[range.upperBound...]
        }
        let out = try String(contentsOf: SharedData.url("\(name).gguf.out"), encoding: .utf8)
        var lines = out.components(separatedBy: "\n")
        if lines.last == "" { lines.removeLast() }
        self.inputs = inputs
        self.expected = lines.map { $0.split(separator: " ").compactMap { Int($0) } }
    }
}
