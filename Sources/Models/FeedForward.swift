import Tensors
import Weights

/// The position-wise block of a decoder layer (after attention): a dense
/// SwiGLU MLP, or a mixture of experts.
public protocol FeedForward: Sendable {
    /// out [rows, hidden] = block(x [rows, hidden]).
    func forward(_ x: UnsafePointer<Float>, rows: Int, out: UnsafeMutablePointer<Float>, pool: KernelPool)
    var numParameters: Int { get }
    var numBytes: Int { get }
}

/// SwiGLU MLP without biases: down( silu(gate(x)) · up(x) ) (Shazeer, arXiv:2002.05202).
public struct DenseMLP: FeedForward {
    // gateProj, upProj [intermediate, hidden]; downProj [hidden, intermediate]
    public let gateProj: WeightTensor
    public let upProj: WeightTensor
    public let downProj: WeightTensor

    public init(gateProj: WeightTensor, upProj: WeightTensor, downProj: WeightTensor) {
        self.gateProj = gateProj
        self.upProj = upProj
        self.downProj = downProj
    }

    /// Loads `<prefix>.gate_proj.weight` etc., checking shapes.
    /// `quantization` is applied to the three matrices.
    public init(
        checkpoint: Checkpoint, prefix: String, hidden: Int, intermediate: Int,
        quantization: WeightQuantization = .none
    ) throws(WeightsError) {
        let q = quantization
        gateProj = q.apply(try checkpoint.tensor("\(prefix).gate_proj.weight", shape: [intermediate, hidden]))
        upProj = q.apply(try checkpoint.tensor("\(prefix).up_proj.weight", shape: [intermediate, hidden]))
        downProj = q.apply(try checkpoint.tensor("\(prefix).down_proj.weight", shape: [hidden, intermediate]))
    }

    public var numParameters: Int { gateProj.numElements + upProj.numElements + downProj.numElements }
    public var numBytes: Int { gateProj.byteCount + upProj.byteCount + downProj.byteCount }

    public func forward(_ x: UnsafePointer<Float>, rows: Int, out: UnsafeMutablePointer<Float>, pool: KernelPool) {
        let inter = gateProj.rows
        // gate and up side by side, uninitialised: the products write every element.
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 2 * rows * inter) { buffer in
            guard let g = buffer.baseAddress else { return }
            let u = g + rows * inter
            MatMul.linear(
                x: x, m: rows, products: [.init(weight: gateProj, out: g), .init(weight: upProj, out: u)], pool: pool)
            pool.parallelRanges(rows, minChunk: KernelPool.minRowsPerRange) { r in
                Elementwise.siluMul(
                    gate: g + r.lowerBound * inter, up: u + r.lowerBound * inter, count: r.count * inter)
            }
            MatMul.linear(x: g, m: rows, weight: downProj, out: out, pool: pool)
        }
    }
}
