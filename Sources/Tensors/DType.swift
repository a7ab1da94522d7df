/// Element type of a tensor as stored in a checkpoint or a device buffer.
///
/// Computation is in `Float` (f32); narrower types are widened on load into
/// registers by the kernels.
public enum DType: String, Sendable, Hashable, CaseIterable {
    case f32 = "F32"
    case f16 = "F16"
    case bf16 = "BF16"

    /// Bytes per element.
    public var byteSize: Int {
        switch self {
        case .f32: 4
        case .f16, .bf16: 2
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

    /// Rounds an f32 to the nearest value representable in `dtype` (identity for f32).
    @inlinable public static func round(_ value: Float, to dtype: DType) -> Float {
        switch dtype {
        case .f32: value
        case .bf16: bf16ToFloat(floatToBF16(value))
        case .f16: Float(Float16(value))
        }
    }
}
