import Foundation
import Models
import Tokenizers
import Weights

/// Finds the model to serve: `--model` (a checkpoint directory or a `.gguf`
/// file), or the embedded demo model; reads its config and tokenizer.
enum ModelDirectory {
    static func resolve(_ path: String?) throws(CLIError) -> URL {
        guard let path else {
            guard let demo = DemoModel.directory else {
                throw CLIError("the embedded demo model is missing from this build; give --model DIR")
            }
            return demo
        }
        var isDirectory: ObjCBool = false
        if path.lowercased().hasSuffix(".gguf") {
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue else {
                throw CLIError("invalid value for --model: \(path) is not a file")
            }
            return URL(fileURLWithPath: path)
        }
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw CLIError("invalid value for --model: \(path) is not a directory")
        }
        guard FileManager.default.fileExists(atPath: path + "/config.json") else {
            throw CLIError("invalid value for --model: \(path) has no config.json")
        }
        return URL(fileURLWithPath: path)
    }

    static func isGGUF(_ url: URL) -> Bool { url.pathExtension.lowercased() == "gguf" }

    /// The served model name when `--served-model-name` is unset: the directory's or GGUF file's base name.
    static func defaultName(_ url: URL) -> String {
        (isGGUF(url) ? url.deletingPathExtension() : url).lastPathComponent
    }

    /// The model's config: `config.json`, or a GGUF file's metadata.
    static func config(_ url: URL) throws -> ModelConfig {
        guard isGGUF(url) else { return try ModelConfig.load(directory: url) }
        return try ModelLoader.modelConfig(gguf: try GGUFFile(path: url.path))
    }

    /// The model's tokenizer: the directory's files, or a GGUF file's vocabulary.
    static func tokenizer(_ url: URL) throws -> any Tokenizer {
        isGGUF(url) ? try TokenizerLoader.load(gguf: url) : try TokenizerLoader.load(directory: url)
    }
}

/// The small Pangu-architecture model trained by the project (Tools/train-demo-model),
/// shipped inside the product so the server answers with no download.
enum DemoModel {
    static let name = "pangu-tiny-shakespeare"

    /// The checkpoint directory inside the resource bundle (beside the executable,
    /// so `swift run` and a binary started from any directory both find it).
    static var directory: URL? {
        candidates.first { FileManager.default.fileExists(atPath: $0.appendingPathComponent("config.json").path) }
    }

    /// SwiftPM copies the checkpoint into `PanguServe_PanguServe.resources` beside the
    /// executable; a development build can also read it from the source tree.
    static var candidates: [URL] {
        var urls: [URL] = []
        if let executable = Bundle.main.executableURL?.resolvingSymlinksInPath() {
            urls.append(
                executable.deletingLastPathComponent().appendingPathComponent("PanguServe_PanguServe.resources")
                    .appendingPathComponent(name))
        }
        urls.append(
            URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Resources/\(name)"))
        return urls
    }
}
