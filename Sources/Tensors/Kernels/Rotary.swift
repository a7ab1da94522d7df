import Foundation

/// Rotary position embedding (RoFormer, arXiv:2104.09864) in the Hugging Face
/// "rotate half" layout: element i pairs with i + rotaryDim/2.
public struct Rotary: Sendable {
    public let headDim: Int
    /// inv_freq[i] = theta^(-2i/headDim), i < headDim/2, possibly rescaled (Llama 3 scaling).
    public let invFreq: [Float]

    public init(headDim: Int, theta: Double, invFreqScaling: ((Double) -> Double)? = nil) {
        self.headDim = headDim
        self.invFreq = (0..<headDim / 2).map { i in
            let f = pow(theta, -2 * Double(i) / Double(headDim))
            return Float(invFreqScaling?(f) ?? f)
        }
    }

    /// Rotates `numHeads` heads of `headDim` values at `x` for position `pos`, in place.
    public func apply(_ x: UnsafeMutablePointer<Float>, numHeads: Int, position pos: Int) {
        let half = headDim / 2
        withUnsafeTemporaryAllocation(of: Float.self, capacity: headDim) { buf in
            guard let cs = buf.baseAddress else { return }
            for i in 0..<half {
                let angle = Double(pos) * Double(invFreq[i])
                cs[i] = Float(cos(angle))
                cs[half + i] = Float(sin(angle))
            }
            for h in 0..<numHeads {
                let v = x + h * headDim
                for i in 0..<half {
                    let a = v[i]
                    let b = v[i + half]
                    v[i] = a * cs[i] - b * cs[half + i]
                    v[i + half] = b * cs[i] + a * cs[half + i]
                }
            }
        }
    }
}
