/// Vectorised widening of 16-bit weights to f32, the inner step of every
/// kernel that reads bf16/f16 checkpoints.
public enum Convert {
    /// src (dtype, `count` elements) → dst f32. For the block-quantized types,
    /// `src` starts a block and `count` is a multiple of `dtype.blockSize`.
    @inlinable
    public static func widen(_ src: UnsafeRawPointer, dtype: DType, count: Int, into dst: UnsafeMutablePointer<Float>) {
        switch dtype {
        case .f32:
            dst.update(from: src.assumingMemoryBound(to: Float.self), count: count)
        case .bf16:
            let s = src.assumingMemoryBound(to: UInt16.self)
            var i = 0
            while i + 16 <= count {
                let raw = UnsafeRawPointer(s + i).loadUnaligned(as: SIMD16<UInt16>.self)
                let wide = SIMD16<UInt32>(truncatingIfNeeded: raw) &<< 16
                UnsafeMutableRawPointer(dst + i).storeBytes(
                    of: unsafeBitCast(wide, to: SIMD16<Float>.self), as: SIMD16<Float>.self)
                i += 16
            }
            while i < count {
                dst[i] = Precision.bf16ToFloat(s[i])
                i += 1
            }
        case .f16:
            let s = src.assumingMemoryBound(to: Float16.self)
            var i = 0
            while i + 16 <= count {
                let raw = UnsafeRawPointer(s + i).loadUnaligned(as: SIMD16<Float16>.self)
                UnsafeMutableRawPointer(dst + i).storeBytes(of: SIMD16<Float>(raw), as: SIMD16<Float>.self)
                i += 16
            }
            while i < count {
                dst[i] = Float(s[i])
                i += 1
            }
        case .q8_0x16, .q4_0x16, .q4_Kx8, .q6_Kx8:
            preconditionFailure("\(dtype) rows are interleaved: widen them through WeightTensor.copyRow")
        case .q8_0, .q4_0, .q4_K, .q6_K:
            precondition(count % dtype.blockSize == 0, "\(dtype) rows hold whole blocks")
            for i in 0..<count { dst[i] = Quantize.element(dtype, src, i) }
        }
    }
}
