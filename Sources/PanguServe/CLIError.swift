import Foundation

/// A command-line mistake: printed as one line, exit status 2.
struct CLIError: Error, CustomStringConvertible {
    let description: String
    init(_ message: String) { description = message }
}

/// Prints `pangu-serve: message` to stderr and exits with `status`.
func exitWithError(_ message: String, status: Int32 = 2) -> Never {
    FileHandle.standardError.write(Data("pangu-serve: \(message)\n".utf8))
    exit(status)
}
