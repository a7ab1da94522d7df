import Devices
import Foundation

/// Finds and loads the NPU chip profiles (`Config/devices/*.json`) for the
/// composition root: an explicit `--npu-profiles-dir`, else the first
/// `Config/devices` found walking up from the executable (a build tree or an
/// install prefix), from the working directory, or from this source file's
/// package (development builds).
enum NPUProfileDirectory {
    /// Where the catalog comes from; throws naming the places searched.
    static func locate(_ explicit: String?) throws(CLIError) -> URL {
        if let explicit {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: explicit, isDirectory: &isDirectory), isDirectory.boolValue
            else { throw CLIError("invalid value for --npu-profiles-dir: \(explicit) is not a directory") }
            return URL(fileURLWithPath: explicit)
        }
        let executable = URL(fileURLWithPath: CommandLine.arguments.first ?? ".").resolvingSymlinksInPath()
        let starts = [
            executable.deletingLastPathComponent(),
            URL(fileURLWithPath: FileManager.default.currentDirectoryPath),
            URL(fileURLWithPath: #filePath).deletingLastPathComponent(),
        ]
        for start in starts {
            var directory = start
            for _ in 0..<6 {
                for candidate in ["Config/devices", "share/pangu-serve/devices"] {
                    var isDirectory: ObjCBool = false
                    let url = directory.appendingPathComponent(candidate)
                    if FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory),
                        isDirectory.boolValue
                    {
                        return url
                    }
                }
                directory = directory.deletingLastPathComponent()
            }
        }
        throw CLIError(
            "cannot find NPU chip profiles (Config/devices); give --npu-profiles-dir (searched above \(starts.map(\.path)))"
        )
    }

    /// The catalog at `locate(explicit)`.
    static func catalog(_ explicit: String?) throws(CLIError) -> ChipProfileCatalog {
        let directory = try locate(explicit)
        do { return try ChipProfileCatalog.load(directory: directory) } catch {
            throw CLIError("cannot load NPU chip profiles from \(directory.path): \(error)")
        }
    }
}
