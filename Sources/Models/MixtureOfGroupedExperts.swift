import Foundation
import Tensors
import Weights

/// Pangu Pro MoE's feed-forward: Mixture of Grouped Experts (MoGE,
/// arXiv:2505.21411). One global softmax over all experts, the top-1 expert
/// of each of G contiguous groups, weighted by probability × `router_scale`
/// (not renormalised), plus an unweighted shared expert.
///
/// Tokens of a batch are grouped by expert, so each expert's weights are read
/// once per step however many tokens chose it.
public struct MixtureOfGroupedExperts: FeedForward {
    public let gate: WeightTensor  // [numExperts, hidden]
    public let routerScale: [Float]  // [numExperts]
    public let experts: [DenseMLP]
    public let sharedExpert: DenseMLP?
    /// Number of groups G = experts chosen per token.
    public let numGroups: Int

    public init(checkpoint: Checkpoint, prefix: String, hidden: Int, moe: ModelConfig.MoEConfig) throws(WeightsError) {
        let e = moe.numExperts
        gate = try checkpoint.tensor("\(prefix).gate.weight", shape: [e, hidden])
        routerScale = try checkpoint.tensor("\(prefix).router_scale", shape: [1, e]).toFloats()
        var experts: [DenseMLP] = []
        for i in 0..<e {
            experts.append(
                try DenseMLP(
                    checkpoint: checkpoint, prefix: "\(prefix).experts.\(i)", hidden: hidden,
                    intermediate: moe.moeIntermediateSize))
        }
        self.experts = experts
        sharedExpert =
            moe.sharedExpertIntermediateSize > 0
            ? try DenseMLP(
                checkpoint: checkpoint, prefix: "\(prefix).shared_expert", hidden: hidden,
                intermediate: moe.sharedExpertIntermediateSize) : nil
        numGroups = moe.numExpertsPerTok
        precondition(numGroups > 0 && e % numGroups == 0, "num_experts must be a multiple of num_experts_per_tok")
    }

    public var numParameters: Int {
        gate.numElements + routerScale.count + experts.reduce(0) { $0 + $1.numParameters }
            + (sharedExpert?.numParameters ?? 0)
    }

    public var numBytes: Int {
        gate.byteCount + experts.reduce(0) { $0 + $1.numBytes } + (sharedExpert?.numBytes ?? 0)
    }

    /// The routing of one token: chosen expert per group and its combine weight.
    public struct Route: Sendable, Equatable {
        public var experts: [Int]
        public var weights: [Float]
    }

    /// Routes one token from its router logits [numExperts].
    public static func route(logits: [Float], numGroups: Int, routerScale: [Float]) -> Route {
        var p = logits
        p.withUnsafeMutableBufferPointer { b in
            if let base = b.baseAddress { Elementwise.softmax(base, count: b.count) }
        }
        let perGroup = p.count / numGroups
        var route = Route(experts: [], weights: [])
        for g in 0..<numGroups {
            var best = g * perGroup
            for e in best..<(g + 1) * perGroup where p[e] > p[best] { best = e }
            route.experts.append(best)
            route.weights.append(p[best] * routerScale[best])
        }
        return route
    }

    public func forward(_ x: UnsafePointer<Float>, rows: Int, out: UnsafeMutablePointer<Float>, pool: KernelPool) {
        let hidden = gate.cols
        let numExperts = experts.count
        let routerLogits = FloatBuffer(count: rows * numExperts)
        MatMul.linear(x: x, m: rows, weight: gate, out: routerLogits.pointer, pool: pool)
        // Group tokens by expert: assignments[e] = [(row, weight)].
        var assignments = [[(row: Int, weight: Float)]](repeating: [], count: numExperts)
        for r in 0..<rows {
            let logits = Array(UnsafeBufferPointer(start: routerLogits.pointer + r * numExperts, count: numExperts))
            let route = Self.route(logits: logits, numGroups: numGroups, routerScale: routerScale)
            for (e, w) in zip(route.experts, route.weights) { assignments[e].append((r, w)) }
        }
        if let sharedExpert {
            sharedExpert.forward(x, rows: rows, out: out, pool: pool)
        } else {
            out.initialize(repeating: 0, count: rows * hidden)
        }
        for (e, tokens) in assignments.enumerated() where !tokens.isEmpty {
            let gathered = FloatBuffer(count: tokens.count * hidden)
            for (i, t) in tokens.enumerated() {
                (gathered.pointer + i * hidden).update(from: x + t.row * hidden, count: hidden)
            }
            let expertOut = FloatBuffer(count: tokens.count * hidden)
            experts[e].forward(gathered.pointer, rows: tokens.count, out: expertOut.pointer, pool: pool)
            for (i, t) in tokens.enumerated() {
                Vector.axpy(t.weight, expertOut.pointer + i * hidden, out + t.row * hidden, hidden)
            }
        }
    }
}
