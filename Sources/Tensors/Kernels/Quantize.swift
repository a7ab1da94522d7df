/// Load-time weight quantization to GGUF's Q8_0 block format (see `DType.q8_0`):
/// halves the bytes a decode step reads compared with bf16.
public enum Quantize {
    /// Quantizes `count` f32 values (a multiple of 32) into Q8_0 blocks at `dst`:
    /// per block d = max|x| / 127 (stored as f16), q = round(x / d_f16).
    public static func q8_0(_ src: UnsafePointer<Float>, count: Int, into dst: UnsafeMutableRawPointer) {
        precondition(count % DType.q8BlockSize == 0, "q8_0 needs whole blocks of 32")
        for b in 0..<count / DType.q8BlockSize {
            let values = src + b * DType.q8BlockSize
            let block = dst + b * DType.q8BlockBytes
            var maxMagnitude: Float = 0
            for i in 0..<DType.q8BlockSize { maxMagnitude = max(maxMagnitude, abs(values[i])) }
            let scaleBits = Precision.floatToF16(maxMagnitude / 127)
            let scale = Precision.f16ToFloat(scaleBits)
            let inverse: Float = scale > 0 ? 1 / scale : 0
            block.storeBytes(of: scaleBits, as: UInt16.self)
            for i in 0..<DType.q8BlockSize {
                let q = (values[i] * inverse).rounded(.toNearestOrEven)
                block.storeBytes(of: Int8(max(-127, min(127, q))), toByteOffset: 2 + i, as: Int8.self)
            }
        }
    }

    /// Element `index` of Q8_0 data at `data` (d · q of its block), as f32.
    @inlinable public static func q8_0Element(_ data: UnsafeRawPointer, _ index: Int) -> Float {
        let block = data + index / DType.q8BlockSize * DType.q8BlockBytes
        let scale = Precision.f16ToFloat(block.loadUnaligned(as: UInt16.self))
        return scale * Float(block.load(fromByteOffset: 2 + index % DType.q8BlockSize, as: Int8.self))
    }
}

extension WeightTensor {
    /// This matrix quantized to Q8_0 (quantize-at-load), row by row; rows
    /// (`cols`) must hold a multiple of 32 values. The result owns its bytes.
    public func quantizedQ8_0() -> WeightTensor {
        if dtype == .q8_0 { return self }
        precondition(cols % DType.q8BlockSize == 0, "q8_0 rows hold whole blocks of 32")
        let rowBytes = DType.q8_0.byteCount(numElements: cols)
        let storage = HeapStorage(byteCount: rows * rowBytes)
        withUnsafeTemporaryAllocation(of: Float.self, capacity: cols) { buffer in
            guard let row = buffer.baseAddress else { return }
            for r in 0..<rows {
                copyRow(r, to: row)
                Quantize.q8_0(row, count: cols, into: storage.pointer + r * rowBytes)
            }
        }
        return WeightTensor(dtype: .q8_0, shape: shape, data: UnsafeRawPointer(storage.pointer), owner: storage)
    }
}
