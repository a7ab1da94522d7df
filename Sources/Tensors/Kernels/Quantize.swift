import CKernels
import Dispatch
import Foundation

/// Load-time weight quantization to GGUF's block formats (see `DType.q8_0`,
/// `DType.q4_0`): Q8_0 halves the bytes a decode step reads compared with
/// bf16, Q4_0 quarters them (18 bytes per 32 weights).
public enum Quantize {
    /// Quantizes `count` f32 values (a multiple of 32) into blocks of `dtype`
    /// (`q8_0` or `q4_0`) at `dst`.
    public static func blocks(
        _ src: UnsafePointer<Float>, count: Int, to dtype: DType, into dst: UnsafeMutableRawPointer
    ) {
        switch dtype {
        case .q8_0: q8_0(src, count: count, into: dst)
        case .q4_0: q4_0(src, count: count, into: dst)
        case .f32, .f16, .bf16, .q8_0x16, .q4_0x16, .q4_K, .q4_Kx8, .q6_K, .q6_Kx8:
            preconditionFailure("no block quantizer to \(dtype) (Q8_0 / Q4_0; Q4_0x16 is a repacked matrix)")
        }
    }

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

    /// Quantizes `count` f32 values (a multiple of 32) into Q4_0 blocks at `dst`,
    /// as ggml's reference quantizer (`quantize_row_q4_0_ref`) does: per block,
    /// `extreme` = the value of largest magnitude (first one on ties, sign kept),
    /// d = extreme / −8 (stored as f16), id = 1/d in f32 (0 when d = 0), and
    /// q = min(15, trunc(x·id + 8.5)); byte j = q[j] | q[j + 16] << 4. The
    /// extreme itself maps to q = 0; the opposite end of the grid is clipped at 15.
    public static func q4_0(_ src: UnsafePointer<Float>, count: Int, into dst: UnsafeMutableRawPointer) {
        precondition(count % DType.q4BlockSize == 0, "q4_0 needs whole blocks of 32")
        let half = DType.q4BlockSize / 2
        for b in 0..<count / DType.q4BlockSize {
            let values = src + b * DType.q4BlockSize
            let block = dst + b * DType.q4BlockBytes
            var (maxMagnitude, extreme): (Float, Float) = (0, 0)
            for i in 0..<DType.q4BlockSize where abs(values[i]) > maxMagnitude {
                (maxMagnitude, extreme) = (abs(values[i]), values[i])
            }
            let scale = extreme / -8
            let inverse: Float = scale != 0 ? 1 / scale : 0
            block.storeBytes(of: Precision.floatToF16(scale), as: UInt16.self)
            for j in 0..<half {
                let low = q4Nibble(values[j] * inverse)
                let high = q4Nibble(values[j + half] * inverse)
                block.storeBytes(of: low | high << 4, toByteOffset: 2 + j, as: UInt8.self)
            }
        }
    }

    /// The Q4_0 level of a value already divided by its block's scale (in
    /// [−8, 8]): min(15, trunc(scaled + 8.5)), with anything below 1 (and NaN) → 0.
    @inlinable static func q4Nibble(_ scaled: Float) -> UInt8 {
        let shifted = scaled + 8.5
        if shifted >= 15 { return 15 }
        return shifted >= 1 ? UInt8(shifted) : 0
    }

    /// Element `index` of block-quantized data at `data` (any `DType.isBlockQuantized` type
    /// whose rows are contiguous; the interleaved ones need their row length:
    /// `interleavedElement`), as f32.
    @inlinable public static func element(_ dtype: DType, _ data: UnsafeRawPointer, _ index: Int) -> Float {
        switch dtype {
        case .q8_0: q8_0Element(data, index)
        case .q4_0: q4_0Element(data, index)
        case .q4_K: KQuant.q4_KElement(data, index)
        case .q6_K: KQuant.q6_KElement(data, index)
        case .q8_0x16, .q4_0x16, .q4_Kx8, .q6_Kx8:
            preconditionFailure("\(dtype) rows are interleaved: use interleavedElement")
        case .f32, .f16, .bf16: preconditionFailure("\(dtype) is not block-quantized")
        }
    }

    /// Weight (`row`, `col`) of a matrix of an interleaved type (`DType.isInterleaved`)
    /// with rows of `cols` weights, as f32.
    @inlinable public static func interleavedElement(
        _ dtype: DType, _ data: UnsafeRawPointer, cols: Int, row: Int, col: Int
    ) -> Float {
        switch dtype {
        case .q8_0x16: pg_q8_0x16_element(data, Int64(cols), Int64(row), Int64(col))
        case .q4_0x16: pg_q4_0x16_element(data, Int64(cols), Int64(row), Int64(col))
        case .q4_Kx8: pg_q4_Kx8_element(data, Int64(cols), Int64(row), Int64(col))
        case .q6_Kx8: pg_q6_Kx8_element(data, Int64(cols), Int64(row), Int64(col))
        default: preconditionFailure("\(dtype) is not an interleaved type")
        }
    }

    /// Element `index` of Q8_0 data at `data` (d · q of its block), as f32.
    @inlinable public static func q8_0Element(_ data: UnsafeRawPointer, _ index: Int) -> Float {
        let block = data + index / DType.q8BlockSize * DType.q8BlockBytes
        let scale = Precision.f16ToFloat(block.loadUnaligned(as: UInt16.self))
        return scale * Float(block.load(fromByteOffset: 2 + index % DType.q8BlockSize, as: Int8.self))
    }

    /// Element `index` of Q4_0 data at `data` (d · (nibble − 8) of its block), as f32.
    @inlinable public static func q4_0Element(_ data: UnsafeRawPointer, _ index: Int) -> Float {
        let block = data + index / DType.q4BlockSize * DType.q4BlockBytes
        let scale = Precision.f16ToFloat(block.loadUnaligned(as: UInt16.self))
        let j = index % DType.q4BlockSize
        let half = DType.q4BlockSize / 2
        let byte = block.load(fromByteOffset: 2 + j % half, as: UInt8.self)
        let nibble = j < half ? byte & 0x0F : byte >> 4
        return scale * Float(Int(nibble) - 8)
    }
}

extension WeightTensor {
    /// This matrix quantized to the block type `target` (`q8_0`, `q4_0`, or `q4_0x16`:
    /// Q4_0 then `interleaved()`, for a row count that is a multiple of 16;
    /// quantize-at-load), row by row; rows (`cols`) must hold a multiple of 32
    /// values. Returns `self` when it already has that type; otherwise the
    /// result owns its bytes.
    public func quantized(to target: DType) -> WeightTensor {
        precondition(
            [.q8_0, .q4_0, .q4_0x16].contains(target), "\(target) is not a type to quantize to (Q8_0 / Q4_0 / Q4_0x16)")
        if dtype == target { return self }
        if target == .q4_0x16 {
            precondition(rows % 16 == 0, "q4_0x16 groups rows by 16")
            return quantized(to: .q4_0).interleaved()
        }
        precondition(cols % target.blockSize == 0, "\(target) rows hold whole blocks of \(target.blockSize)")
        let rowBytes = target.byteCount(numElements: cols)
        let storage = HeapStorage(byteCount: rows * rowBytes, zeroed: false)
        // Rows in chunks on every core (load time, not the hot path, so Dispatch): each row is
        // quantized alone, so the result does not depend on the split. One core took about 4 ns
        // per weight, 6 s for a 1B model's --quantize.
        let chunks = min(rows, 8 * ProcessInfo.processInfo.activeProcessorCount)
        DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
            withUnsafeTemporaryAllocation(of: Float.self, capacity: cols) { buffer in
                guard let row = buffer.baseAddress else { return }
                for r in rows * chunk / chunks..<rows * (chunk + 1) / chunks {
                    copyRow(r, to: row)
                    Quantize.blocks(row, count: cols, to: target, into: storage.pointer + r * rowBytes)
                }
            }
        }
        return WeightTensor(dtype: target, shape: shape, data: UnsafeRawPointer(storage.pointer), owner: storage)
    }

    /// This Q8_0 / Q4_0 / Q4_K / Q6_K matrix repacked as Q8_0x16 / Q4_0x16 / Q4_Kx8 / Q6_Kx8,
    /// the integer kernels' layout in groups of 16 or 8 rows (`DType.groupRows`), when its row
    /// count is a multiple of that; otherwise (or for another type) `self`.
    public func interleaved() -> WeightTensor {
        let repack: [DType: (DType, (UnsafeRawPointer?, Int64, Int64, UnsafeMutableRawPointer?) -> Void)] = [
            .q8_0: (.q8_0x16, pg_repack_q8_0x16), .q4_0: (.q4_0x16, pg_repack_q4_0x16),
            .q4_K: (.q4_Kx8, pg_repack_q4_Kx8), .q6_K: (.q6_Kx8, pg_repack_q6_Kx8),
        ]
        guard let (target, function) = repack[dtype], rows % target.groupRows == 0, rows > 0 else { return self }
        let storage = HeapStorage(byteCount: target.byteCount(numElements: numElements), zeroed: false)
        function(data, Int64(rows), Int64(cols), storage.pointer)
        (owner as? ReleasablePages)?.releasePages(data, byteCount: byteCount)  // a file's pages: not needed again
        return WeightTensor(dtype: target, shape: shape, data: UnsafeRawPointer(storage.pointer), owner: storage)
    }

    /// This matrix quantized to Q8_0 (`quantized(to: .q8_0)`).
    public func quantizedQ8_0() -> WeightTensor { quantized(to: .q8_0) }

    /// This matrix quantized to Q4_0 (`quantized(to: .q4_0)`).
    public func quantizedQ4_0() -> WeightTensor { quantized(to: .q4_0) }
}
