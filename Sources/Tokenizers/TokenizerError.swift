import Foundation

/// Why a tokenizer could not be loaded; every case names the file it concerns.
///
/// Encoding and decoding never throw: any text encodes (through byte fallback or
/// `<unk>`) and any id list decodes (unknown ids are skipped).
public enum TokenizerError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The file could not be read at all.
    case unreadableFile(path: String, reason: String)
    /// The file ended before a complete record (protobuf field, GGUF value).
    case truncatedFile(path: String, offset: Int)
    /// The file does not start with the expected magic bytes.
    case badMagic(path: String)
    /// The file's format version is not one we read.
    case unsupportedVersion(path: String, version: Int)
    /// The file is structurally valid but holds something malformed.
    case malformed(path: String, reason: String)
    /// The file describes a tokenizer kind we do not implement.
    case unsupported(path: String, feature: String)
    /// The directory holds neither `tokenizer.json` nor `tokenizer.model`.
    case noTokenizerFile(directory: String)

    public var description: String {
        switch self {
        case .unreadableFile(let path, let reason): return "cannot read tokenizer file \(path): \(reason)"
        case .truncatedFile(let path, let offset): return "tokenizer file \(path) is truncated at byte \(offset)"
        case .badMagic(let path): return "tokenizer file \(path) has a bad magic number"
        case .unsupportedVersion(let path, let version):
            return "tokenizer file \(path) has unsupported format version \(version)"
        case .malformed(let path, let reason): return "tokenizer file \(path) is malformed: \(reason)"
        case .unsupported(let path, let feature): return "tokenizer file \(path) uses unsupported \(feature)"
        case .noTokenizerFile(let directory):
            return "no tokenizer.json or tokenizer.model in \(directory)"
        }
    }
}
