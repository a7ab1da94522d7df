import Foundation

/// Finds the model directory to serve: `--model`, or the embedded demo model.
enum ModelDirectory {
    static func resolve(_ path: String?) throws(CLIError) -> URL {
        guard let path else {
            guard let demo = DemoModel.directory else {
                throw CLIError("the embedded demo model is missing from this build; give --model DIR")
            }
            return demo
        }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw CLIError("invalid value for --model: \(path) is not a directory")
        }
        guard FileManager.default.fileExists(atPath: path + "/config.json") else {
            throw CLIError("invalid value for --model: \(path) has no config.json")
        }
        return URL(fileURLWithPath: path)
    }
}

/// The small Pangu-architecture model trained by the project (Tools/train-demo-model),
/// shipped inside the product so the server answers with no download.
enum DemoModel {
    static let name = "pangu-tiny-shakespeare"

    /// The checkpoint directory inside the resource bundle (beside the executable,
    /// so `swift run` and a binary started from any directory both find it).
    static var directory: URL? {
        guard let url = Bundle.module.url(forResource: name, withExtension: nil),
            FileManager.default.fileExists(atPath: url.appendingPathComponent("config.json").path)
        else { return nil }
        return url
    }
}
