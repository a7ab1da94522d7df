import Foundation

/// Errors of the simulated Ascend NPU: bad chip profiles, unknown chips,
/// unsupported dtypes, device-memory exhaustion and bad model or batch shapes.
///
/// Every case carries the context needed to act on it; `description` is the
/// message shown to an operator.
public enum NPUError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A chip profile file or value is malformed; `source` is a path or name.
    case invalidProfile(source: String, reason: String)
    /// Two profiles share a name.
    case duplicateProfile(name: String)
    /// No profile has this name; `known` lists the names that exist.
    case unknownChip(name: String, known: [String])
    /// The chip has no native support for `dtype` on the named unit.
    case unsupportedDType(dtype: NPUDType, unit: String, chip: String)
    /// Device memory cannot hold `requested` bytes; `available` bytes are free.
    case outOfMemory(requested: Int, available: Int, device: String)
    /// A free of an allocation this device does not hold (double free).
    case unknownAllocation(name: String, device: String)
    /// A model config value is missing or unusable.
    case invalidModelConfig(key: String, reason: String)
    /// A batch, parallel layout or knob value cannot be simulated.
    case invalidArgument(name: String, reason: String)

    public var description: String {
        switch self {
        case .invalidProfile(let source, let reason):
            return "invalid NPU chip profile \(source): \(reason)"
        case .duplicateProfile(let name):
            return "NPU chip profile '\(name)' is defined twice"
        case .unknownChip(let name, let known):
            return "unknown NPU chip '\(name)'; known chips: \(known.joined(separator: ", "))"
        case .unsupportedDType(let dtype, let unit, let chip):
            return "NPU chip \(chip) has no native \(dtype.rawValue) support on its \(unit) unit"
        case .outOfMemory(let requested, let available, let device):
            return "\(device): out of device memory: requested \(requested) bytes (\(Self.gib(requested))), "
                + "available \(available) bytes (\(Self.gib(available)))"
        case .unknownAllocation(let name, let device):
            return "\(device): no live allocation '\(name)' to free"
        case .invalidModelConfig(let key, let reason):
            return "invalid model config '\(key)': \(reason)"
        case .invalidArgument(let name, let reason):
            return "invalid \(name): \(reason)"
        }
    }

    /// Bytes as GiB with two decimals, e.g. "1.50 GiB".
    static func gib(_ bytes: Int) -> String {
        String(format: "%.2f GiB", Double(bytes) / 1_073_741_824)
    }
}
