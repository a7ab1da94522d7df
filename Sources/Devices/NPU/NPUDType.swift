/// Element type of an operation on the simulated Ascend NPU; it selects the
/// cube or vector rate in a `ChipProfile` and the bytes one element moves.
///
/// `int8` stands for W8A8: int8 weights and int8 (per-token quantised)
/// activations feeding the cube unit, accumulated in int32 and written back in
/// the activation dtype. Raw values are the keys used in `Config/devices/*.json`.
public enum NPUDType: String, Sendable, Hashable, Codable, CaseIterable {
    case fp32
    case fp16
    case bf16
    case int8

    /// Bytes per element in device memory.
    public var numBytes: Int {
        switch self {
        case .fp32: 4
        case .fp16, .bf16: 2
        case .int8: 1
        }
    }

    /// Parses a Hugging Face `torch_dtype` string ("bfloat16", "float16",
    /// "float32", "int8") or one of our raw values; nil when unknown.
    public init?(huggingFaceName: String) {
        switch huggingFaceName.lowercased() {
        case "bfloat16", "bf16": self = .bf16
        case "float16", "fp16", "half": self = .fp16
        case "float32", "fp32", "float": self = .fp32
        case "int8", "w8a8": self = .int8
        default: return nil
        }
    }
}
