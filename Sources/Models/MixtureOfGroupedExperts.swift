import Foundation
import Tensors
import Weights

/// Pangu Pro MoE's feed-forward: Mixture of Grouped Experts (MoGE,
/// arXiv:2505.21411). One global softmax over all experts, the top-1 expert
/// of each of G contiguous groups, weighted by probability × `router_scale`
/// (not renormalised), plus an unweighted shared expert.
///
/// Tokens of a batch are grouped by expert, so each expert's weights are read
/// once per step however many tokens chose it. With an `ExpertPlacement`
/// (expert parallelism) the expert computation is partitioned by card: each
/// card runs only the experts it holds on the rows dispatched to it, then the
/// combine adds every row's expert outputs in expert order, so the result is
/// bit-identical to the single-device forward.
public struct MixtureOfGroupedExperts: FeedForward {
    public let gate: WeightTensor  // [numExperts, hidden]
    public let routerScale: [Float]  // [numExperts]
    public let experts: [DenseMLP]
    public let sharedExpert: DenseMLP?
    /// Number of groups G = experts chosen per token.
    public let numGroups: Int
    /// Expert-parallel placement and load recorder; nil on a single device.
    public let expertPlacement: ExpertPlacement?

    public init(
        checkpoint: Checkpoint, prefix: String, hidden: Int, moe: ModelConfig.MoEConfig,
        expertPlacement: ExpertPlacement? = nil, quantization: WeightQuantization = .none
    ) throws(WeightsError) {
        let e = moe.numExperts
        gate = try checkpoint.tensor("\(prefix).gate.weight", shape: [e, hidden])
        routerScale = try checkpoint.tensor("\(prefix).router_scale", shape: [1, e]).toFloats()
        var experts: [DenseMLP] = []
        for i in 0..<e {
            experts.append(
                try DenseMLP(
                    checkpoint: checkpoint, prefix: "\(prefix).experts.\(i)", hidden: hidden,
                    intermediate: moe.moeIntermediateSize, quantization: quantization))
        }
        self.experts = experts
        sharedExpert =
            moe.sharedExpertIntermediateSize > 0
            ? try DenseMLP(
                checkpoint: checkpoint, prefix: "\(prefix).shared_expert", hidden: hidden,
                intermediate: moe.sharedExpertIntermediateSize, quantization: quantization) : nil
        numGroups = moe.numExpertsPerTok
        self.expertPlacement = expertPlacement
        precondition(
            expertPlacement.map { $0.numExperts == e && $0.numGroups == numGroups } ?? true,
            "ExpertPlacement does not match the model's experts")
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

    /// Token rows routed to each expert, with their combine weights.
    typealias Assignments = [[(row: Int, weight: Float)]]

    public func forward(_ x: UnsafePointer<Float>, rows: Int, out: UnsafeMutablePointer<Float>, pool: KernelPool) {
        let hidden = gate.cols
        let numExperts = experts.count
        let routerLogits = FloatBuffer(count: rows * numExperts)
        MatMul.linear(x: x, m: rows, weight: gate, out: routerLogits.pointer, pool: pool)
        var assignments = Assignments(repeating: [], count: numExperts)
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
        // Dispatch: each card computes its own experts' rows.
        var expertOutputs = [FloatBuffer?](repeating: nil, count: numExperts)
        let cards = expertPlacement.map { p in (0..<p.numCards).map { p.experts(onCard: $0) } } ?? [0..<numExperts]
        var numTokensPerCard: [Int] = []
        for owned in cards {
            numTokensPerCard.append(owned.reduce(0) { $0 + assignments[$1].count })
            runExperts(owned, assignments: assignments, x: x, into: &expertOutputs, pool: pool)
        }
        expertPlacement?.recordDispatch(numTokensPerCard)
        // Combine: every row adds its experts' weighted outputs in expert (= group) order.
        for (e, tokens) in assignments.enumerated() {
            guard let expertOut = expertOutputs[e] else { continue }
            for (i, t) in tokens.enumerated() {
                Vector.axpy(t.weight, expertOut.pointer + i * hidden, out + t.row * hidden, hidden)
            }
        }
    }

    /// One card's share: gathers the rows routed to each expert in `owned` and
    /// runs that expert on them; outputs [rows of e, hidden] land in `outputs[e]`.
    func runExperts(
        _ owned: Range<Int>, assignments: Assignments, x: UnsafePointer<Float>, into outputs: inout [FloatBuffer?],
        pool: KernelPool
    ) {
        let hidden = gate.cols
        for e in owned where !assignments[e].isEmpty {
            let tokens = assignments[e]
            let gathered = FloatBuffer(count: tokens.count * hidden)
            for (i, t) in tokens.enumerated() {
                (gathered.pointer + i * hidden).update(from: x + t.row * hidden, count: hidden)
            }
            let expertOut = FloatBuffer(count: tokens.count * hidden)
            experts[e].forward(gathered.pointer, rows: tokens.count, out: expertOut.pointer, pool: pool)
            outputs[e] = expertOut
        }
    }
}
