/// Dequantization of llama.cpp's k-quant super-blocks (`DType.q4_K`,
/// `DType.q6_K`, layouts in `DType`'s documentation): the element access
/// behind `WeightTensor.element`, `copyRow` and the reference kernels. The
/// fast kernels (`CKernels`' `pg_linear_rows`) decode the same layouts in C.
///
/// Each weight is computed in f32 as ggml's `dequantize_row_q4_K` /
/// `dequantize_row_q6_K` do: the sub-block's scale (super-block scale times
/// its integer sub-scale) times the quant, minus, for Q4_K, the sub-block's
/// min (super-block `dmin` times its integer sub-min).
public enum KQuant {
    /// Byte offsets inside a Q4_K super-block: f16 d, f16 dmin, 12 packed scale bytes, 128 nibble bytes.
    @usableFromInline static let q4KScalesOffset = 4
    @usableFromInline static let q4KQuantsOffset = 16
    /// Byte offsets inside a Q6_K super-block: 128 bytes ql, 64 bytes qh, 16 int8 scales, f16 d.
    @usableFromInline static let q6KHighOffset = 128
    @usableFromInline static let q6KScalesOffset = 192
    @usableFromInline static let q6KScaleOffset = 208

    /// The 6-bit scale and min of sub-block `s` (0 ..< 8) from a Q4_K super-block's
    /// 12 packed bytes at `packed`: sub-blocks 0–3 use the low 6 bits of bytes
    /// s and s + 4; sub-blocks 4–7 take their low 4 bits from the nibbles of byte
    /// s + 4 and their top 2 bits from the spare top bits of bytes s − 4 and s.
    @inlinable public static func q4_KScaleMin(_ packed: UnsafeRawPointer, _ s: Int) -> (scale: UInt8, min: UInt8) {
        precondition(s >= 0 && s < 8, "Q4_K super-blocks have 8 sub-blocks")
        let byteS = packed.load(fromByteOffset: s, as: UInt8.self)
        let byteS4 = packed.load(fromByteOffset: s + 4, as: UInt8.self)
        if s < 4 { return (byteS & 0x3F, byteS4 & 0x3F) }
        let byteSm4 = packed.load(fromByteOffset: s - 4, as: UInt8.self)
        return ((byteS4 & 0x0F) | (byteSm4 >> 6) << 4, (byteS4 >> 4) | (byteS >> 6) << 4)
    }

    /// Element `index` of Q4_K data at `data` (rows hold whole super-blocks), as f32.
    @inlinable public static func q4_KElement(_ data: UnsafeRawPointer, _ index: Int) -> Float {
        let block = data + index / DType.kQuantBlockSize * DType.q4KBlockBytes
        let i = index % DType.kQuantBlockSize
        let (chunk, t) = (i / 64, i % 64)
        let byte = block.load(fromByteOffset: q4KQuantsOffset + 32 * chunk + t % 32, as: UInt8.self)
        let q = t < 32 ? byte & 0x0F : byte >> 4
        let (scale, min) = q4_KScaleMin(block + q4KScalesOffset, 2 * chunk + t / 32)
        let d = Precision.f16ToFloat(block.loadUnaligned(as: UInt16.self))
        let dmin = Precision.f16ToFloat(block.loadUnaligned(fromByteOffset: 2, as: UInt16.self))
        let subScale = d * Float(scale)
        let subMin = dmin * Float(min)
        return subScale * Float(q) - subMin
    }

    /// Element `index` of Q6_K data at `data` (rows hold whole super-blocks), as f32.
    @inlinable public static func q6_KElement(_ data: UnsafeRawPointer, _ index: Int) -> Float {
        let block = data + index / DType.kQuantBlockSize * DType.q6KBlockBytes
        let i = index % DType.kQuantBlockSize
        let (h, g, l) = (i / 128, i % 128 / 32, i % 32)
        let lowByte = block.load(fromByteOffset: 64 * h + 32 * (g & 1) + l, as: UInt8.self)
        let low = g < 2 ? lowByte & 0x0F : lowByte >> 4
        let highByte = block.load(fromByteOffset: q6KHighOffset + 32 * h + l, as: UInt8.self)
        let high = (highByte >> UInt8(2 * g)) & 0x03
        let q = Int(low | high << 4) - 32
        let scale = block.load(fromByteOffset: q6KScalesOffset + 8 * h + 2 * g + l / 16, as: Int8.self)
        let d = Precision.f16ToFloat(block.loadUnaligned(fromByteOffset: q6KScaleOffset, as: UInt16.self))
        let subScale = d * Float(scale)
        return subScale * Float(q)
    }
}
