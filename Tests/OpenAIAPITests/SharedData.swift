import Foundation

/// Locates `../shared/data` relative to the package root (tests skip when absent).
enum SharedData {
    static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let root = packageRoot.deletingLastPathComponent().appendingPathComponent("shared/data")
    static var isAvailable: Bool { FileManager.default.fileExists(atPath: root.path) }
    static func url(_ path: String) -> URL { root.appendingPathComponent(path) }
}
