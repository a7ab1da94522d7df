import Weights

/// Errors of the `Models` module: configs and checkpoints that cannot be served.
public enum ModelsError: Error, Sendable, CustomStringConvertible {
    case cannotReadConfig(file: String, reason: String)
    case missingConfigKey(file: String, key: String)
    case invalidConfig(file: String, detail: String)
    case unsupportedArchitecture(String, supported: [String])
    case weights(WeightsError)

    public var description: String {
        switch self {
        case .cannotReadConfig(let file, let reason): "cannot read \(file): \(reason)"
        case .missingConfigKey(let file, let key): "\(file) lacks the key \"\(key)\""
        case .invalidConfig(let file, let detail): "\(file): \(detail)"
        case .unsupportedArchitecture(let name, let supported):
            "unsupported architecture \(name); supported: \(supported.joined(separator: ", "))"
        case .weights(let error): error.description
        }
    }
}
