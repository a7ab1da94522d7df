import CKernels

@testable import Tensors

/// What the integer kernels see of f32 activations: each block of 32 rounded
/// to `q · d` with d = max|x| / 127 and q = round-to-nearest-even(x · 127 / max|x|)
/// (the rule `pg_quantize_activations` documents), written independently of it.
enum QuantizedActivations {
    static func roundTrip(_ x: [Float]) -> [Float] {
        precondition(x.count % 32 == 0)
        var out = x
        for start in stride(from: 0, to: x.count, by: 32) {
            let maxMagnitude = x[start..<start + 32].map(abs).max() ?? 0
            let inverse: Float = maxMagnitude > 0 ? 127 / maxMagnitude : 0
            let d = maxMagnitude / 127
            for j in start..<start + 32 { out[j] = (x[j] * inverse).rounded(.toNearestOrEven) * d }
        }
        return out
    }

    /// What the k-quant kernels see (llama.cpp's Q8_K rounding): per 256 values, d =
    /// max / -127 with max the signed value of largest magnitude, q = min(127, round(x / d)).
    static func roundTripK(_ x: [Float]) -> [Float] {
        precondition(x.count % 256 == 0)
        var out = x
        for start in stride(from: 0, to: x.count, by: 256) {
            var max: Float = 0
            for j in start..<start + 256 where abs(x[j]) > abs(max) { max = x[j] }
            let inverse: Float = max != 0 ? -127 / max : 0
            let d: Float = max != 0 ? 1 / inverse : 0
            for j in start..<start + 256 { out[j] = Swift.min(127, (inverse * x[j]).rounded(.toNearestOrEven)) * d }
        }
        return out
    }

    /// The plain-loop result the kernels must reproduce for `weight` (Q8_0 or
    /// Q4_0), which see the activations quantized: per 256 for Q4_0 where k is a
    /// multiple of 256, per 32 otherwise.
    static func reference(x: [Float], m: Int, weight: WeightTensor, bias: [Float]?) -> [Float] {
        let k = weight.shape[1]
        let perGroup = (weight.dtype == .q4_0 || weight.dtype == .q4_0x16) && k % 256 == 0
        return MatMul.linearReference(x: perGroup ? roundTripK(x) : roundTrip(x), m: m, weight: weight, bias: bias)
    }

    /// `pg_quantize_activations` (or, with `kQuant`, `pg_quantize_activations_k`) on `x`
    /// (one row of k values), decoded back to f32.
    static func kernelRoundTrip(_ x: [Float], kQuant: Bool = false) -> [Float] {
        let k = x.count
        let bytes = pg_quantized_activation_bytes(1, Int64(k))
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
        defer { buffer.deallocate() }
        x.withUnsafeBufferPointer {
            if kQuant {
                pg_quantize_activations_k($0.baseAddress!, 1, Int64(k), buffer)
            } else {
                pg_quantize_activations($0.baseAddress!, 1, Int64(k), buffer)
            }
        }
        // Scales are block-major over rows padded to 8: block b of row 0 is at 8 b.
        let scales = (buffer + (k + 63) / 64 * 64).assumingMemoryBound(to: Float.self)
        return (0..<k).map { j in Float(buffer.load(fromByteOffset: j, as: Int8.self)) * scales[j / 32 * 8] }
    }
}
