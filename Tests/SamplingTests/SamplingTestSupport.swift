import Foundation

@testable import Sampling

/// Runs `body` on a mutable copy of `values` and returns its result.
func withLogits<R>(_ values: [Float], _ body: (UnsafeMutableBufferPointer<Float>) -> R) -> R {
    var copy = values
    return copy.withUnsafeMutableBufferPointer { body($0) }
}

/// The logits after the sampler's processors (bias, min-tokens, penalties).
func processed(_ values: [Float], by sampler: Sampler) -> [Float] {
    var copy = values
    copy.withUnsafeMutableBufferPointer { sampler.processLogits($0) }
    return copy
}

/// Logits whose softmax is `probabilities`.
func logits(ofProbabilities probabilities: [Double]) -> [Float] {
    probabilities.map { Float(Foundation.log($0)) }
}

/// Parameters built from defaults by a closure.
func params(_ configure: (inout SamplingParams) -> Void) -> SamplingParams {
    var p = SamplingParams()
    configure(&p)
    return p
}

/// The filtered distribution a random step of `params` would draw from.
func distribution(_ values: [Float], _ params: SamplingParams) -> [Int: Double] {
    let sampler = Sampler(params: params, promptTokenIDs: [], eosTokenID: nil)
    return values.withUnsafeBufferPointer { buffer in
        sampler.filteredDistribution(processedLogits: buffer)?.probabilities() ?? [:]
    }
}

/// Samples `count` tokens, each from a fresh copy of `values`.
func draws(_ count: Int, _ values: [Float], _ sampler: inout Sampler) -> [Int] {
    (0..<count).map { _ in withLogits(values) { sampler.sample(logits: $0).tokenID } }
}

/// Deterministic pseudo-random logits in [-scale, scale] for property tests.
func randomLogits(count: Int, seed: UInt64, scale: Float = 8) -> [Float] {
    var rng = SamplerRNG(seed: seed)
    return (0..<count).map { _ in Float(rng.nextUnitInterval() * 2 - 1) * scale }
}
