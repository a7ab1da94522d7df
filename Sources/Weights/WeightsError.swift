/// Errors of the `Weights` module: every case names the file, and the tensor where there is one.
public enum WeightsError: Error, Equatable, Sendable, CustomStringConvertible {
    case cannotOpen(file: String, reason: String)
    case truncated(file: String, detail: String)
    case corruptHeader(file: String, detail: String)
    case unsupportedDType(file: String, tensor: String, dtype: String)
    case missingTensor(tensor: String, files: [String])
    case shapeMismatch(file: String, tensor: String, expected: [Int], actual: [Int])
    case badIndex(file: String, detail: String)

    public var description: String {
        switch self {
        case .cannotOpen(let file, let reason): "cannot open \(file): \(reason)"
        case .truncated(let file, let detail): "\(file) is truncated: \(detail)"
        case .corruptHeader(let file, let detail): "\(file) has a corrupt header: \(detail)"
        case .unsupportedDType(let file, let tensor, let dtype):
            "\(file): tensor \(tensor) has unsupported dtype \(dtype) (supported: F32, F16, BF16; Q8_0, Q4_0, Q4_K, Q6_K in GGUF)"
        case .missingTensor(let tensor, let files):
            "tensor \(tensor) not found in \(files.joined(separator: ", "))"
        case .shapeMismatch(let file, let tensor, let expected, let actual):
            "\(file): tensor \(tensor) has shape \(actual), but config.json implies \(expected)"
        case .badIndex(let file, let detail): "\(file) is not a valid safetensors index: \(detail)"
        }
    }
}
