import Glibc

/// A read-only view of a tensor's bytes (usually inside a memory-mapped
/// checkpoint), with its dtype and shape; what models hold as parameters.
///
/// The view does not copy: `owner` keeps the backing storage (a mapped file
/// or a heap buffer) alive. Row-major; `shape.last` is the contiguous axis.
public struct WeightTensor: @unchecked Sendable {
    public let dtype: DType
    public let shape: [Int]
    /// First byte of the element data.
    public let data: UnsafeRawPointer
    /// Keeps the memory behind `data` alive.
    public let owner: AnyObject

    public init(dtype: DType, shape: [Int], data: UnsafeRawPointer, owner: AnyObject) {
        self.dtype = dtype
        self.shape = shape
        self.data = data
        self.owner = owner
    }

    public var numElements: Int { shape.reduce(1, *) }
    public var byteCount: Int { dtype.byteCount(numElements: numElements) }
    /// Number of rows of a matrix view ([rows, cols]); 1 for a vector.
    public var rows: Int { shape.count >= 2 ? shape.dropLast().reduce(1, *) : 1 }
    /// Length of one contiguous row.
    public var cols: Int { shape.last ?? 1 }

    /// Element `i` widened to f32.
    @inlinable public func element(_ i: Int) -> Float {
        switch dtype {
        case .f32: data.load(fromByteOffset: i * 4, as: Float.self)
        case .bf16: Precision.bf16ToFloat(data.load(fromByteOffset: i * 2, as: UInt16.self))
        case .f16: Precision.f16ToFloat(data.load(fromByteOffset: i * 2, as: UInt16.self))
        case .q8_0, .q4_0, .q4_K, .q6_K: Quantize.element(dtype, data, i)
        case .q8_0x16, .q4_0x16, .q4_Kx8, .q6_Kx8:
            Quantize.interleavedElement(dtype, data, cols: cols, row: i / cols, col: i % cols)
        }
    }

    /// The whole tensor widened to f32 (for small tensors: norms, biases).
    public func toFloats() -> [Float] {
        (0..<numElements).map { element($0) }
    }

    /// Copies row `row` widened to f32 into `out` (`cols` elements).
    @inlinable public func copyRow(_ row: Int, to out: UnsafeMutablePointer<Float>) {
        if dtype.isInterleaved {  // rows interleaved in groups (`DType.groupRows`)
            for col in 0..<cols { out[col] = Quantize.interleavedElement(dtype, data, cols: cols, row: row, col: col) }
            return
        }
        Convert.widen(data + dtype.byteCount(numElements: row * cols), dtype: dtype, count: cols, into: out)
    }

    /// A tensor made from f32 values on the heap (tests, tools, synthetic weights).
    /// For `q8_0` and `q4_0` the rows (`shape.last`) must hold a multiple of 32 values;
    /// the k-quants (`q4_K`, `q6_K`) cannot be made here (build their blocks as bytes).
    public static func owning(_ values: [Float], shape: [Int], dtype: DType = .f32) -> WeightTensor {
        precondition(values.count == shape.reduce(1, *), "values do not match shape")
        precondition(!DType.kQuantCases.contains(dtype), "\(dtype) is load-only: no quantizer")
        if dtype.isBlockQuantized {
            return WeightTensor.owning(values, shape: shape, dtype: .f32).quantized(to: dtype)
        }
        let storage = HeapStorage(byteCount: values.count * dtype.byteSize, zeroed: false)
        let raw = storage.pointer
        for (i, v) in values.enumerated() {
            switch dtype {
            case .f32: raw.storeBytes(of: v, toByteOffset: i * 4, as: Float.self)
            case .bf16: raw.storeBytes(of: Precision.floatToBF16(v), toByteOffset: i * 2, as: UInt16.self)
            case .f16: raw.storeBytes(of: Precision.floatToF16(v), toByteOffset: i * 2, as: UInt16.self)
            case .q8_0, .q8_0x16, .q4_0, .q4_0x16, .q4_K, .q4_Kx8, .q6_K, .q6_Kx8: preconditionFailure("handled above")
            }
        }
        return WeightTensor(dtype: dtype, shape: shape, data: UnsafeRawPointer(raw), owner: storage)
    }
}

/// Heap bytes owned by a class, so tensor views can share them.
public final class HeapStorage: @unchecked Sendable {
    public let pointer: UnsafeMutableRawPointer
    public let byteCount: Int
    static let hugePage = 2 << 20

    /// `zeroed: false` leaves the bytes as allocated, for a caller that writes every one of them
    /// (a weight copy), saving a pass over memory it is about to fill. `hugePages: true` aligns
    /// the bytes to 2 MiB and asks for transparent huge pages (`MADV_HUGEPAGE`; where THP is
    /// `madvise`-only, as on most distributions, a buffer otherwise gets 4 KiB pages).
    public init(byteCount: Int, zeroed: Bool = true, hugePages: Bool = false) {
        self.byteCount = byteCount
        self.pointer = UnsafeMutableRawPointer.allocate(
            byteCount: max(byteCount, 1), alignment: hugePages ? Self.hugePage : 64)
        if hugePages { _ = madvise(pointer, byteCount / Self.hugePage * Self.hugePage, MADV_HUGEPAGE) }
        if zeroed { pointer.initializeMemory(as: UInt8.self, repeating: 0, count: max(byteCount, 1)) }
    }

    deinit { pointer.deallocate() }
}

/// Storage whose pages a tensor copied elsewhere can hand back (a memory-mapped
/// file: its pages leave the resident set, and touching them again re-reads the file).
public protocol ReleasablePages: AnyObject {
    func releasePages(_ start: UnsafeRawPointer, byteCount: Int)
}
