import Foundation
import Testing

@testable import Tensors

/// The vectorised attention and SwiGLU kernels against plain loops.
@Suite("Attention and SwiGLU kernels") struct AttentionKernelTests {
    static func values(_ n: Int, seed: Int) -> [Float] {
        (0..<n).map { i in Float(((i &* 2_654_435_761 &+ seed &* 97) % 2001) - 1000) / 500 }
    }

    /// Plain-loop attention of one head over scattered cache blocks.
    static func reference(
        q: [Float], cache: [Float], valueCache: [Float], kvStride: Int, offset: Int, table: [Int], blockSize: Int,
        numContext: Int, headDim: Int, scale: Float
    ) -> [Float] {
        let slots = (0..<numContext).map { table[$0 / blockSize] * blockSize + $0 % blockSize }
        var scores = slots.map { slot in
            (0..<headDim).reduce(Float(0)) { $0 + q[$1] * cache[slot * kvStride + offset + $1] } * scale
        }
        let maxScore = scores.max() ?? 0
        scores = scores.map { exp($0 - maxScore) }
        let total = scores.reduce(0, +)
        return (0..<headDim).map { j in
            zip(scores, slots).reduce(Float(0)) { $0 + $1.0 / total * valueCache[$1.1 * kvStride + offset + j] }
        }
    }

    /// `values` as a cache of `dtype` stores them (f32, f16 or bf16 bytes).
    static func stored(_ values: [Float], as dtype: DType) -> [UInt8] {
        switch dtype {
        case .f16: values.map { Precision.floatToF16($0) }.withUnsafeBytes { Array($0) }
        case .bf16: values.map { Precision.floatToBF16($0) }.withUnsafeBytes { Array($0) }
        default: values.withUnsafeBytes { Array($0) }
        }
    }

    @Test(
        "attention of several queries equals the plain loop per query over scattered blocks of an f32, f16 or bf16 cache (SIMD and portable head sizes)",
        arguments: [24, 32, 64, 128, 96], [DType.f32, .f16, .bf16])
    func attentionMatchesReference(headDim: Int, cacheDType: DType) {
        let blockSize = 4
        // 200 scattered blocks: contexts up to 800 positions, past several of the kernel's position blocks.
        let table = (0..<200).map { $0 * 7 % 200 }
        let kvStride = 2 * headDim + 8  // two heads plus padding, so the offset and stride matter
        let numSlots = table.count * blockSize
        // The reference reads the values the cache holds: rounded to its type.
        let keys = Self.values(numSlots * kvStride, seed: headDim).map { Precision.round($0, to: cacheDType) }
        let valuesCache = Self.values(numSlots * kvStride, seed: headDim + 1).map {
            Precision.round($0, to: cacheDType)
        }
        let (storedKeys, storedValues) = (Self.stored(keys, as: cacheDType), Self.stored(valuesCache, as: cacheDType))
        let offsetBytes = headDim * cacheDType.byteSize
        let scale = 1 / Float(headDim).squareRoot()
        // Pairs with equal and unequal contexts, a lone last query, and a single query.
        // Contexts ending inside, at and just past a 64-position block, and long ones (every
        // block, with pairs whose contexts end in different blocks).
        // From 16 queries (a prefill tile) AVX-512 CPUs put the queries in vector lanes: 16 and
        // 32 of them with contexts ending 1 apart (two GQA heads per token), 17 (a group of one),
        // 45 (three groups, the last partial) and contexts ending in different 48-row blocks.
        let tile = { (first: Int, tokens: Int, heads: Int) in
            (0..<tokens).flatMap { t in Array(repeating: first + t, count: heads) }
        }
        for contexts in [
            [1, 2, 7, 17, 100], [100, 100, 9, 9], [33], [5, 64, 64, 3, 3, 1], [65, 128, 129, 700, 800, 63, 1],
            [797, 798, 799], tile(1, 16, 1), tile(490, 16, 2), tile(40, 17, 1), tile(1, 15, 3),
            (0..<20).map { 1 + $0 * 41 },
        ] {
            let queries = contexts.indices.map { Self.values(headDim, seed: 3 + $0) }
            let qBuffer = UnsafeMutablePointer<Float>.allocate(capacity: contexts.count * headDim)
            let outBuffer = UnsafeMutablePointer<Float>.allocate(capacity: contexts.count * headDim)
            defer {
                qBuffer.deallocate()
                outBuffer.deallocate()
            }
            for (i, query) in queries.enumerated() { (qBuffer + i * headDim).update(from: query, count: headDim) }
            outBuffer.update(repeating: .nan, count: contexts.count * headDim)
            storedKeys.withUnsafeBytes { k in
                storedValues.withUnsafeBytes { v in
                    Attention.run(
                        queries: contexts.indices.map { UnsafePointer(qBuffer + $0 * headDim) },
                        outs: contexts.indices.map { outBuffer + $0 * headDim }, numContext: contexts.map(Int64.init),
                        keys: k.baseAddress! + offsetBytes, values: v.baseAddress! + offsetBytes,
                        cacheDType: cacheDType, kvStride: kvStride,
                        blockTable: table, blockSize: blockSize, headDim: headDim, scale: scale)
                }
            }
            for i in contexts.indices {
                let out = UnsafeBufferPointer(start: outBuffer + i * headDim, count: headDim)
                let expected = Self.reference(
                    q: queries[i], cache: keys, valueCache: valuesCache, kvStride: kvStride, offset: headDim,
                    table: table, blockSize: blockSize, numContext: contexts[i], headDim: headDim, scale: scale)
                let worst = zip(out, expected).map { abs($0 - $1) }.max() ?? .nan
                #expect(
                    worst < 1e-5, "\(cacheDType) headDim \(headDim), contexts \(contexts), query \(i): error \(worst)")
            }
        }
    }

    @Test("SwiGLU matches g / (1 + e^-g) · up to 1e-6 relative, including tails and extreme inputs")
    func swigluMatchesFormula() {
        var gate = Self.values(206, seed: 9).map { $0 * 20 } + [-200, 200, 0, -88, 88]  // 16-lane tail of 3
        let up = Self.values(gate.count, seed: 4)
        let expected = zip(gate, up).map { g, u in Float(Double(g) / (1 + Foundation.exp(-Double(g))) * Double(u)) }
        Elementwise.siluMul(gate: &gate, up: up, count: gate.count)
        for (value, reference) in zip(gate, expected) {
            #expect(abs(value - reference) <= 1e-6 * max(1, abs(reference)), "\(value) vs \(reference)")
        }
    }
}
