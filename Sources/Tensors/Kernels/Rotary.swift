import Foundation

/// Rotary position embedding (RoFormer, arXiv:2104.09864) in the Hugging Face
/// "rotate half" layout: element i pairs with i + rotaryDim/2.
public struct Rotary: Sendable {
    public let headDim: Int
    /// inv_freq[i] = theta^(-2i/headDim), i < headDim/2, possibly rescaled (Llama 3 scaling).
    public let invFreq: [Float]

    /// `invFreqScaling` maps each inverse frequency to its rescaled value; `freqFactors` (headDim/2
    /// values, llama.cpp's `rope_freqs`) then divides frequency i by `freqFactors[i]`.
    /// Both only change `invFreq`, so `apply` costs the same with or without them.
    public init(
        headDim: Int, theta: Double, invFreqScaling: ((Double) -> Double)? = nil, freqFactors: [Float]? = nil
    ) {
        precondition(freqFactors.map { $0.count == headDim / 2 } ?? true, "one frequency factor per rotary pair")
        self.headDim = headDim
        self.invFreq = (0..<headDim / 2).map { i in
            var f = pow(theta, -2 * Double(i) / Double(headDim))
            if let invFreqScaling { f = invFreqScaling(f) }
            if let freqFactors { f /= Double(freqFactors[i]) }
            return Float(f)
        }
    }

    /// Rotates `numHeads` heads of `headDim` values at `x` for position `pos`, in place.
    public func apply(_ x: UnsafeMutablePointer<Float>, numHeads: Int, position pos: Int) {
        withTable(position: pos) { rotate(x, numHeads: numHeads, table: $0) }
    }

    /// Rotates a row's queries and keys (`numHeads` and `numKVHeads` heads of `headDim` values)
    /// in place with its position's table from `fillTable`, so a forward pass computes each
    /// row's angles once for all its layers (a 512-token prefill of a 26-layer model spent about
    /// 2 % of its time in `cos` and `sin` taking them per layer).
    public func apply(
        queries: UnsafeMutablePointer<Float>, numHeads: Int, keys: UnsafeMutablePointer<Float>, numKVHeads: Int,
        table: UnsafePointer<Float>
    ) {
        rotate(queries, numHeads: numHeads, table: table)
        rotate(keys, numHeads: numKVHeads, table: table)
    }

    /// Writes position `pos`'s cosines (first half) and sines (second half), `headDim` values, to `cs`.
    public func fillTable(position pos: Int, into cs: UnsafeMutablePointer<Float>) {
        let half = headDim / 2
        for i in 0..<half {
            let angle = Double(pos) * Double(invFreq[i])
            cs[i] = Float(cos(angle))
            cs[half + i] = Float(sin(angle))
        }
    }

    /// `body` with position `pos`'s table.
    private func withTable(position pos: Int, _ body: (UnsafePointer<Float>) -> Void) {
        withUnsafeTemporaryAllocation(of: Float.self, capacity: headDim) { buf in
            guard let cs = buf.baseAddress else { return }
            fillTable(position: pos, into: cs)
            body(cs)
        }
    }

    private func rotate(_ x: UnsafeMutablePointer<Float>, numHeads: Int, table cs: UnsafePointer<Float>) {
        let half = headDim / 2
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
