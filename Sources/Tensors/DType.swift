/// Element type of a tensor as stored in a checkpoint or a device buffer.
///
/// Computation is in `Float` (f32); narrower types are widened on load into
/// registers by the kernels. The block-quantized types are GGUF's (never from
/// safetensors), and a row holds a multiple of `blockSize` weights. Q8_0 and
/// Q4_0 are made at load time by `WeightTensor.quantized(to:)` or read from a
/// GGUF file; the k-quants Q4_K and Q6_K are only read from GGUF files
/// (llama.cpp's `llama-quantize ... Q4_K_M`), never made here.
/// - `q8_0`: blocks of 32 weights, each an f16 scale `d` then 32 int8 `q`; weight = d·q.
/// - `q4_0`: blocks of 32 weights, each an f16 scale `d` then 16 bytes, byte j
///   holding weight j in its low nibble and weight j + 16 in its high nibble;
///   weight = d·(nibble − 8) (ggml's `block_q4_0`).
/// - `q8_0x16`: Q8_0 repacked in groups of 16 rows (made at load when the row count is a
///   multiple of 16; never in a file): per group and block, the 16 rows' f16 scales, then
///   8 chunks of 64 bytes, chunk t holding quants 4t ..< 4t + 4 of each row in row order
///   (one 512-bit load per chunk; layout in `CKernels/q8_0x16.c`).
/// - `q4_0x16`: Q4_0 repacked in groups of 16 rows for the integer kernels (made
///   at load from `q4_0` when the row count is a multiple of 16; never in a file).
///   Per group and block of 32 columns, 288 bytes: the 16 rows' f16 scales, then
///   4 chunks of 64 bytes, chunk c holding nibble bytes 4c ..< 4c + 4 of each row
///   in row order (layout in `CKernels/q4_0x16.c`). A row is not contiguous: read
///   elements through `WeightTensor`.
/// - `q4_Kx8`: `q4_K` repacked the same way (made at load; never in a file), 1184
///   bytes per group of 8 rows and super-block: the rows' f16 `d`, then `dmin`, the
///   sub-block scales and mins unpacked to one byte each (sub-block-major), then
///   32 chunks of 32 bytes, chunk (c, t) holding nibble bytes 32c + 4t ..< + 4 of
///   each row in row order (layout in `CKernels/q4_Kx8.c`).
/// - `q6_Kx8`: `q6_K` repacked the same way (made at load; never in a file), 1712
///   bytes per group of 8 rows and super-block: the rows' f16 `d`, their scales in
///   pairs per sub-block, one int32 per row (Σ scale·(q − 32)), then `ql` and `qh`
///   in chunks of 4 bytes per row (layout in `CKernels/q6_Kx8.c`).
/// - `q4_K`: super-blocks of 256 weights in 144 bytes (ggml's `block_q4_K`):
///   f16 `d`, f16 `dmin`, 12 bytes of 6-bit sub-block scales `sc[s]` and mins
///   `mn[s]` for 8 sub-blocks of 32, then 128 bytes of nibbles. For s < 4,
///   sc[s] = low 6 bits of byte s and mn[s] = low 6 bits of byte s + 4; for
///   s ≥ 4, sc[s] = (low nibble of byte s + 4) | (top 2 bits of byte s − 4) << 4
///   and mn[s] = (high nibble of byte s + 4) | (top 2 bits of byte s) << 4.
///   Weights 64c ..< 64c + 32 are the low nibbles of nibble bytes 32c ..< 32c + 32
///   (sub-block 2c), weights 64c + 32 ..< 64c + 64 their high nibbles (sub-block
///   2c + 1); weight = (d·sc[s])·q − dmin·mn[s].
/// - `q6_K`: super-blocks of 256 weights in 210 bytes (ggml's `block_q6_K`):
///   128 bytes `ql` (low 4 bits), 64 bytes `qh` (high 2 bits), 16 int8 scales,
///   f16 `d`. Weight i = 128h + 32g + l (h < 2, g < 4, l < 32) takes its low
///   bits from `ql[64h + 32(g & 1) + l]` (low nibble for g < 2, high nibble
///   otherwise), its high bits from bits 2g, 2g + 1 of `qh[32h + l]`, and its
///   scale from `scales[8h + 2g + l / 16]`; weight = (d·scale)·(q − 32), q < 64.
public enum DType: String, Sendable, Hashable, CaseIterable {
    case f32 = "F32"
    case f16 = "F16"
    case bf16 = "BF16"
    case q8_0 = "Q8_0"
    case q8_0x16 = "Q8_0x16"
    case q4_0 = "Q4_0"
    case q4_0x16 = "Q4_0x16"
    case q4_K = "Q4_K"
    case q4_Kx8 = "Q4_Kx8"
    case q6_K = "Q6_K"
    case q6_Kx8 = "Q6_Kx8"

    /// The element types stored one value per element (every type but the block-quantized ones).
    public static let floatingPointCases: [DType] = [.f32, .f16, .bf16]
    /// The block types a matrix can be quantized to at load (GGUF blocks of 32 weights).
    public static let blockQuantizedCases: [DType] = [.q8_0, .q4_0]
    /// llama.cpp's k-quant types (super-blocks of 256 weights), read from GGUF files only.
    public static let kQuantCases: [DType] = [.q4_K, .q6_K]

    /// Weights per Q8_0 block, and bytes per block (f16 scale + 32 int8).
    public static let q8BlockSize = 32
    public static let q8BlockBytes = 34
    /// Weights per Q4_0 block, and bytes per block (f16 scale + 16 bytes of nibble pairs).
    public static let q4BlockSize = 32
    public static let q4BlockBytes = 18
    /// Weights per k-quant super-block (Q4_K and Q6_K), and bytes per super-block of each.
    public static let kQuantBlockSize = 256
    public static let q4KBlockBytes = 144
    public static let q6KBlockBytes = 210
    /// Bytes per super-block row of `q4_Kx8` and `q6_Kx8` (a group of 8 rows takes 8 times this).
    public static let q4Kx8BlockBytes = 148
    public static let q6Kx8BlockBytes = 214

    /// True for the block-quantized types (all but `f32`, `f16`, `bf16`).
    public var isBlockQuantized: Bool { blockSize > 1 }

    /// True for the types whose matrix products run in integer arithmetic against
    /// 8-bit activations at every batch size (`q8_0`, `q4_0` and the repacked
    /// types); the others are widened to f32 against f32 activations (`q4_K`,
    /// `q6_K` only in prefill: below `MatMul.packedRowsThreshold` rows they are
    /// integer too).
    public var hasInt8Kernels: Bool { self == .q8_0 || self == .q4_0 || isInterleaved }

    /// True for llama.cpp's k-quants (`q4_K`, `q6_K`, and the repacked `q4_Kx8`, `q6_Kx8`):
    /// their activations take llama.cpp's Q8_K rounding.
    public var isKQuant: Bool { self == .q4_K || self == .q6_K || self == .q4_Kx8 || self == .q6_Kx8 }

    /// True for the layouts repacked at load in groups of rows (`q8_0x16`, `q4_0x16`,
    /// `q4_Kx8`, `q6_Kx8`), whose rows are not contiguous.
    public var isInterleaved: Bool { self == .q8_0x16 || self == .q4_0x16 || self == .q4_Kx8 || self == .q6_Kx8 }

    /// Rows per group of an interleaved layout (16 for `q8_0x16` and `q4_0x16`, 8 for the
    /// k-quants'; 1 for the rest): its row count, and every row range a kernel takes, is a
    /// multiple of it.
    public var groupRows: Int { self == .q8_0x16 || self == .q4_0x16 ? 16 : isInterleaved ? 8 : 1 }

    /// The type as a checkpoint file stores it: a repacked layout's source block type, else itself.
    public var fileType: DType {
        switch self {
        case .q8_0x16: .q8_0
        case .q4_0x16: .q4_0
        case .q4_Kx8: .q4_K
        case .q6_Kx8: .q6_K
        default: self
        }
    }

    /// Weights per block: 32 for Q8_0 / Q4_0, 256 for the k-quants, 1 for the
    /// others; a row of this type holds a multiple of it.
    public var blockSize: Int {
        switch self {
        case .f32, .f16, .bf16: 1
        case .q8_0, .q8_0x16: Self.q8BlockSize
        case .q4_0, .q4_0x16: Self.q4BlockSize
        case .q4_K, .q4_Kx8, .q6_K, .q6_Kx8: Self.kQuantBlockSize
        }
    }

    /// Bytes per element; for the block-quantized types the quantized part of
    /// one weight rounded up to a whole byte (1), without the block's scale —
    /// use `byteCount(numElements:)` for sizes.
    public var byteSize: Int {
        switch self {
        case .f32: 4
        case .f16, .bf16: 2
        case .q8_0, .q8_0x16, .q4_0, .q4_0x16, .q4_K, .q4_Kx8, .q6_K, .q6_Kx8: 1
        }
    }

    /// Bytes taken by `numElements` elements (for the block-quantized types, a multiple of `blockSize`).
    public func byteCount(numElements: Int) -> Int {
        switch self {
        case .f32, .f16, .bf16: numElements * byteSize
        case .q8_0, .q8_0x16: numElements / Self.q8BlockSize * Self.q8BlockBytes
        case .q4_0, .q4_0x16: numElements / Self.q4BlockSize * Self.q4BlockBytes
        case .q4_K: numElements / Self.kQuantBlockSize * Self.q4KBlockBytes
        case .q4_Kx8: numElements / Self.kQuantBlockSize * Self.q4Kx8BlockBytes
        case .q6_K: numElements / Self.kQuantBlockSize * Self.q6KBlockBytes
        case .q6_Kx8: numElements / Self.kQuantBlockSize * Self.q6Kx8BlockBytes
        }
    }

    /// Parses a safetensors dtype (`F32`, `F16`, `BF16`). `Q8_0`, `Q4_0`, `Q4_K`
    /// and `Q6_K` are not safetensors types: a checkpoint claiming one is rejected, since its
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
    /// f32, and for the block-quantized types, whose grids depend on the block's scales).
    @inlinable public static func round(_ value: Float, to dtype: DType) -> Float {
        switch dtype {
        case .f32, .q8_0, .q8_0x16, .q4_0, .q4_0x16, .q4_K, .q4_Kx8, .q6_K, .q6_Kx8: value
        case .bf16: bf16ToFloat(floatToBF16(value))
        case .f16: Float(Float16(value))
        }
    }
}
