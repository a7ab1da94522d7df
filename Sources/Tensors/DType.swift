/// Element type of a tensor as stored in a checkpoint or a device buffer.
///
/// Computation is in `Float` (f32); narrower types are widened on load into
/// registers by the kernels. The block-quantized types are GGUF's (made at
/// load time by `WeightTensor.quantized(to:)`, or read from a GGUF file; never
/// from safetensors), and a row holds a multiple of 32 weights:
/// - `q8_0`: blocks of 32 weights, each an f16 scale `d` then 32 int8 `q`; weight = d·q.
/// - `q4_0`: blocks of 32 weights, each an f16 scale `d` then 16 bytes, byte j
///   holding weight j in its low nibble and weight j + 16 in its high nibble;
///   weight = d·(nibble − 8) (ggml's `block_q4_0`).
public enum DType: String, Sendable, Hashable, CaseIterable {
    case f32 = "F32"
    case f16 = "F16"
    case bf16 = "BF16"
    case q8_0 = "Q8_0"
    case q4_0 = "Q4_0"

    /// The element types stored one value per element (every type but the block-quantized ones).
    public static let floatingPointCases: [DType] = [.f32, .f16, .bf16]
    /// The block-quantized element types (GGUF blocks of 32 weights).
    public static let blockQuantizedCases: [DType] = [.q8_0, .q4_0]

    /// Weights per Q8_0 block, and bytes per block (f16 scale + 32 int8).
    public static let q8BlockSize = 32
    public static let q8BlockBytes = 34
    /// Weights per Q4_0 block, and bytes per block (f16 scale + 16 bytes of nibble pairs).
    public static let q4BlockSize = 32
    public static let q4BlockBytes = 18

    /// True for the block-quantized types (`q8_0`, `q4_0`).
    public var isBlockQuantized: Bool { blockSize > 1 }

    /// Weights per block: 32 for the block-quantized types, 1 for the others;
    /// a row of this type holds a multiple of it.
    public var blockSize: Int {
        switch self {
        case .f32, .f16, .bf16: 1
        case .q8_0: Self.q8BlockSize
        case .q4_0: Self.q4BlockSize
        }
    }

    /// Bytes per element; for the block-quantized types the quantized part of
    /// one weight rounded up to a whole byte (1), without the block's scale —
    /// use `byteCount(numElements:)` for sizes.
    public var byteSize: Int {
        switch self {
        case .f32: 4
        case .f16, .bf16: 2
        case .q8_0, .q4_0: 1
        }
    }

    /// Bytes taken by `numElements` elements (for the block-quantized types, a multiple of 32).
    public func byteCount(numElements: Int) -> Int {
        switch self {
        case .f32, .f16, .bf16: numElements * byteSize
        case .q8_0: numElements / Self.q8BlockSize * Self.q8BlockBytes
        case .q4_0: numElements / Self.q4BlockSize * Self.q4BlockBytes
        }
    }

    /// Parses a safetensors dtype (`F32`, `F16`, `BF16`). `Q8_0` and `Q4_0` are
    /// not safetensors types: a checkpoint claiming one is rejected, since its
    /// byte size check (`byteSize`) would not describe the block layout.
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
    /// f32, and for q8_0 and q4_0, whose grids depend on the block's scale).
    @inlinable public static func round(_ value: Float, to dtype: DType) -> Float {
        switch dtype {
        case .f32, .q8_0, .q4_0: value
        case .bf16: bf16ToFloat(floatToBF16(value))
        case .f16: Float(Float16(value))
        }
    }
}
