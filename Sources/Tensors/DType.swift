/// Element type of a tensor as stored in a checkpoint or a device buffer.
///
/// Computation is in `Float` (f32); narrower types are widened on load into
/// registers by the kernels. `q8_0` is GGUF's 8-bit block format, made at
/// load time by `WeightTensor.quantizedQ8_0()` (never read from safetensors):
/// blocks of 32 weights, each an f16 scale `d` then 32 int8 `q`, weight = d·q;
/// a row holds a multiple of 32 weights.
public enum DType: String, Sendable, Hashable, CaseIterable {
    case f32 = "F32"
    case f16 = "F16"
    case bf16 = "BF16"
    case q8_0 = "Q8_0"

    /// The element types stored one value per element (every type but the block-quantized ones).
    public static let floatingPointCases: [DType] = [.f32, .f16, .bf16]

    /// Weights per Q8_0 block, and bytes per block (f16 scale + 32 int8).
    public static let q8BlockSize = 32
    public static let q8BlockBytes = 34

    /// Bytes per element; for `q8_0` the whole bytes of a block's int8 part
    /// (1) — use `byteCount(numElements:)` for sizes.
    public var byteSize: Int {
        switch self {
        case .f32: 4
        case .f16, .bf16: 2
        case .q8_0: 1
        }
    }

    /// Bytes taken by `numElements` elements (for `q8_0`, a multiple of 32).
    public func byteCount(numElements: Int) -> Int {
        switch self {
        case .q8_0: numElements / Self.q8BlockSize * Self.q8BlockBytes
        default: numElements * byteSize
        }
    }

    /// Parses a safetensors dtype (`F32`, `F16`, `BF16`). `Q8_0` is not a
    /// safetensors type: a checkpoint claiming it is rejected, since its byte
    /// size check (`byteSize`) would not describe the block layout.
    public init?(rawValue: String) {
        switch rawValue {
        case "F32": self = .f32
        case "F16": self = .f16
        case "BF16": self = .bf16
        default: return nil
        }
    }

    /// Parses a safetensors / torch dtype name (`BF16`, `bfloat16`, `float16`, ...).
    public init?(name: String) {
        switch name.lowercased() {
        case "f32", "float32", "float": self = .f32
        case "f16", "float16", "half": self = .f16
        case "bf16", "bfloat16": self = .bf16
        default: return nil
        }
    }
}

/// Scalar conversions between f32 and the 16-bit formats.
public enum Precision {
    /// bf16 bits → f32 (exact).
    @inlinable public static func bf16ToFloat(_ bits: UInt16) -> Float {
        Float(bitPattern: UInt32(bits) << 16)
    }

    /// f32 → bf16 bits, round to nearest even (NaN stays NaN).
    @inlinable public static func floatToBF16(_ value: Float) -> UInt16 {
        let bits = value.bitPattern
        if value.isNaN { return UInt16(truncatingIfNeeded: bits >> 16) | 0x40 }
        let rounding = UInt32(0x7FFF) + ((bits >> 16) & 1)
        return UInt16(truncatingIfNeeded: (bits &+ rounding) >> 16)
    }

    /// f16 bits → f32 (exact).
    @inlinable public static func f16ToFloat(_ bits: UInt16) -> Float {
        Float(Float16(bitPattern: bits))
    }

    /// f32 → f16 bits, round to nearest even.
    @inlinable public static func floatToF16(_ value: Float) -> UInt16 {
        Float16(value).bitPattern
    }

    /// Rounds an f32 to the nearest value representable in `dtype` (identity for
    /// f32, and for q8_0, whose grid depends on the block's scale).
    @inlinable public static func round(_ value: Float, to dtype: DType) -> Float {
        switch dtype {
        case .f32, .q8_0: value
        case .bf16: bf16ToFloat(floatToBF16(value))
        case .f16: Float(Float16(value))
        }
    }
}
