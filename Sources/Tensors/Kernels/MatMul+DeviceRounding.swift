import Synchronization

/// Device numerics for `MatMul.linear` (the simulated NPU): inputs and
/// weights in the device type, f32 accumulation, output rounded to the
/// device type, as an Ascend cube unit computes a bf16/fp16 matmul.
extension MatMul {
    /// x [m, k] · W [n, k]ᵀ (+ bias [n]) → out [m, n] with x and W rounded to
    /// `dtype` first and out rounded after; the product itself is the plain
    /// kernel's. Called by `linear` when `pool.matmulRounding` is set.
    static func linearRoundingToDevice(
        x: UnsafePointer<Float>, m: Int, weight: WeightTensor, bias: UnsafePointer<Float>?,
        out: UnsafeMutablePointer<Float>, pool: KernelPool, dtype: DType
    ) {
        let k = weight.cols
        let n = weight.rows
        let deviceWeight = weight.dtype == dtype ? weight : pool.deviceWeights.converted(weight, to: dtype)
        let roundedX = UnsafeMutablePointer<Float>.allocate(capacity: max(m * k, 1))
        defer { roundedX.deallocate() }
        for i in 0..<(m * k) { roundedX[i] = Precision.round(x[i], to: dtype) }
        pool.isInsideMatMulRounding = true
        linear(x: roundedX, m: m, weight: deviceWeight, bias: bias, out: out, pool: pool)
        pool.isInsideMatMulRounding = false
        for i in 0..<(m * n) { out[i] = Precision.round(out[i], to: dtype) }
    }
}

/// Weights converted to a device type once and kept (the simulated NPU's
/// copy of a checkpoint stored in another type), keyed by tensor address.
///
/// Thread-safe (a `Mutex`); entries live as long as the pool.
final class DeviceWeightCache: Sendable {
    private let converted = Mutex<[Key: WeightTensor]>([:])

    private struct Key: Hashable {
        let address: Int
        let dtype: DType
    }

    /// `weight` rounded to `dtype` (converted on first use).
    func converted(_ weight: WeightTensor, to dtype: DType) -> WeightTensor {
        let key = Key(address: Int(bitPattern: weight.data), dtype: dtype)
        if let hit = converted.withLock({ $0[key] }) { return hit }
        let values = (0..<weight.numElements).map { weight.element($0) }
        let tensor = WeightTensor.owning(values, shape: weight.shape, dtype: dtype)
        converted.withLock { $0[key] = tensor }
        return tensor
    }
}
