import Foundation
import Models
import Testing

/// Mixture-of-Grouped-Experts routing on hand-made router logits.
@Suite("MoGE routing") struct MoGERoutingTests {
    static func softmax(_ v: [Float]) -> [Float] {
        let m = v.max() ?? 0
        let e = v.map { Foundation.exp($0 - m) }
        let s = e.reduce(0, +)
        return e.map { $0 / s }
    }

    @Test("each contiguous group contributes its own best expert, even when another group holds the global top 2")
    func oneExpertPerGroup() {
        // 8 experts in 2 groups of 4; group 0 holds the two largest logits.
        let logits: [Float] = [5, 4.9, 0, 0, 1, 2, 0.5, 0]
        let route = MixtureOfGroupedExperts.route(logits: logits, numGroups: 2, routerScale: Array(repeating: 1, count: 8))
        #expect(route.experts == [0, 5])
    }

    @Test("weights are the global-softmax probabilities times router_scale, not renormalised")
    func weightsAreScaledProbabilities() {
        let logits: [Float] = [1, 3, 2, 0, -1, 0.5]
        let scale: [Float] = [2, 3, 4, 5, 6, 7]
        let route = MixtureOfGroupedExperts.route(logits: logits, numGroups: 3, routerScale: scale)
        let p = Self.softmax(logits)
        #expect(route.experts == [1, 2, 5])
        for (e, w) in zip(route.experts, route.weights) { #expect(abs(w - p[e] * scale[e]) < 1e-6) }
        // Renormalising over the chosen experts would make the unscaled weights sum to 1; they do not.
        let unscaled = zip(route.experts, route.weights).map { $1 / scale[$0] }.reduce(0, +)
        #expect(abs(unscaled - (p[1] + p[2] + p[5])) < 1e-6)
        #expect(unscaled < 0.99)
    }

    @Test("the softmax is over all experts: a large logit in one group lowers every other group's weight")
    func globalSoftmax() {
        let scale = Array(repeating: Float(1), count: 4)
        let calm = MixtureOfGroupedExperts.route(logits: [0, 0, 1, 0], numGroups: 2, routerScale: scale)
        let loud = MixtureOfGroupedExperts.route(logits: [5, 0, 1, 0], numGroups: 2, routerScale: scale)
        #expect(calm.experts[1] == 2 && loud.experts[1] == 2)
        #expect(loud.weights[1] < calm.weights[1] / 10)
    }
}
