import Tensors

/// The simulated NPU's numerics for the vector-unit kernels (RMSNorm,
/// softmax, SiLU·mul): tensors are read and written in the device type
/// (bf16/fp16) and computed in f32 inside the kernel, as Ascend vector
/// kernels upcast for reductions. Matrix products get theirs from
/// `KernelPool.matmulRounding`.
///
/// Used by the CPU-versus-NPU parity table. The worker's forward pass keeps
/// its activations in f32 between kernels and rounds only at matmuls (where
/// bf16 rounding dominates); these helpers bound what rounding every kernel
/// boundary would add.
public enum NPUNumerics {
    /// `values` rounded element-wise to `dtype`.
    public static func round(_ values: [Float], to dtype: DType) -> [Float] {
        values.map { Precision.round($0, to: dtype) }
    }

    /// RMSNorm of each row of `x` [rows, count] with `weight` [count], inputs
    /// and output in `dtype`.
    public static func rmsNorm(_ x: [Float], weight: [Float], eps: Float, dtype: DType) -> [Float] {
        let count = weight.count
        precondition(count > 0 && x.count % count == 0, "NPUNumerics.rmsNorm: x is not whole rows")
        let xs = round(x, to: dtype)
        let ws = round(weight, to: dtype)
        var out = [Float](repeating: 0, count: x.count)
        xs.withUnsafeBufferPointer { xp in
            ws.withUnsafeBufferPointer { wp in
                out.withUnsafeMutableBufferPointer { op in
                    guard let xBase = xp.baseAddress, let wBase = wp.baseAddress, let oBase = op.baseAddress
                    else { return }
                    for row in 0..<(x.count / count) {
                        Elementwise.rmsNorm(
                            xBase + row * count, weight: wBase, eps: eps, out: oBase + row * count, count: count)
                    }
                }
            }
        }
        return round(out, to: dtype)
    }

    /// Softmax of `x` (one row), input and output in `dtype`.
    public static func softmax(_ x: [Float], dtype: DType) -> [Float] {
        var values = round(x, to: dtype)
        values.withUnsafeMutableBufferPointer { p in
            if let base = p.baseAddress { Elementwise.softmax(base, count: p.count) }
        }
        return round(values, to: dtype)
    }

    /// silu(gate) · up, inputs and output in `dtype`.
    public static func siluMul(gate: [Float], up: [Float], dtype: DType) -> [Float] {
        precondition(gate.count == up.count, "NPUNumerics.siluMul: gate and up differ in length")
        var g = round(gate, to: dtype)
        let u = round(up, to: dtype)
        g.withUnsafeMutableBufferPointer { gp in
            u.withUnsafeBufferPointer { up in
                if let gBase = gp.baseAddress, let uBase = up.baseAddress {
                    Elementwise.siluMul(gate: gBase, up: uBase, count: gp.count)
                }
            }
        }
        return round(g, to: dtype)
    }

    /// Normalised mean squared error Σ(a − b)² / Σb² of `a` against the reference `b`.
    public static func normalizedMSE(_ a: [Float], reference b: [Float]) -> Double {
        precondition(a.count == b.count, "NPUNumerics.normalizedMSE: lengths differ")
        var error = 0.0
        var power = 0.0
        for (x, y) in zip(a, b) {
            error += Double(x - y) * Double(x - y)
            power += Double(y) * Double(y)
        }
        return power > 0 ? error / power : error
    }
}
