import CKernels
import Foundation

/// Row-wise kernels of a decoder layer: RMSNorm, SwiGLU activation, softmax.
public enum Elementwise {
    /// out[i] = x[i] / sqrt(mean(x²) + eps) · weight[i], over one row of `count`.
    @inlinable
    public static func rmsNorm(
        _ x: UnsafePointer<Float>, weight: UnsafePointer<Float>, eps: Float,
        out: UnsafeMutablePointer<Float>, count: Int
    ) {
        let meanSquare = Vector.dot(x, x, count) / Float(count)
        let scale = 1 / (meanSquare + eps).squareRoot()
        for i in 0..<count { out[i] = x[i] * scale * weight[i] }
    }

    /// gate[i] = silu(gate[i]) · up[i]  (SwiGLU), where silu(g) = g / (1 + e^-g).
    /// Vectorised in `CKernels` (a polynomial e^x with relative error about 2e-7).
    public static func siluMul(gate: UnsafeMutablePointer<Float>, up: UnsafePointer<Float>, count: Int) {
        pg_silu_mul(gate, up, Int64(count))
    }

    /// In-place softmax over `count` values (max-subtracted for stability).
    @inlinable
    public static func softmax(_ x: UnsafeMutablePointer<Float>, count: Int) {
        var maxValue = -Float.infinity
        for i in 0..<count where x[i] > maxValue { maxValue = x[i] }
        var sum: Float = 0
        for i in 0..<count {
            let e = Foundation.exp(x[i] - maxValue)
            x[i] = e
            sum += e
        }
        let inv = 1 / sum
        for i in 0..<count { x[i] *= inv }
    }
}
