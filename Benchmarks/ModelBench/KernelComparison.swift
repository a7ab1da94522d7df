import Foundation
import Tensors

/// The pure-Swift SIMD linear kernel against the C kernel (bf16 and Q8_0
/// weights) on a layer of the 1B model's shape (gate_proj, 6144 × 1536), at
/// decode and batched m.
struct KernelComparison {
    let pool: KernelPool
    let n = 6144
    let k = 1536
    /// Enough distinct matrices (8 × 18 MiB) that decode reads come from DRAM, not the L3.
    let numMatrices = 8

    func run(ceilings: MachineCeilings, repetitions: Int) {
        let weights = (0..<numMatrices).map { i in randomWeight(seed: i) }
        let quantized = weights.map { $0.quantizedQ8_0() }
        print("kernel comparison (\(pool.numThreads) threads, W \(n)x\(k); CPU-time figures, best of \(repetitions)):")
        let kernels: [(name: String, weights: [WeightTensor], swift: Bool)] = [
            ("Swift SIMD bf16", weights, true), ("C bf16", weights, false), ("C q8_0", quantized, false),
        ]
        for m in [1, 4, 16, 64, 512] {
            let x = FloatBuffer(count: m * k)
            for i in 0..<m * k { x.pointer[i] = Float(i % 97) / 97 - 0.5 }
            let out = FloatBuffer(count: m * n)
            for kernel in kernels {
                var timing = Timing()
                let calls = m >= 64 ? 1 : numMatrices
                for _ in 0..<repetitions {
                    timing.measure(numThreads: pool.numThreads, divisor: Double(calls)) {
                        for c in 0..<calls {
                            let w = kernel.weights[c]
                            if kernel.swift {
                                MatMul.linearSwiftSIMD(x: x.pointer, m: m, weight: w, out: out.pointer, pool: pool)
                            } else {
                                MatMul.linear(x: x.pointer, m: m, weight: w, out: out.pointer, pool: pool)
                            }
                        }
                    }
                }
                let best = timing.cpu
                let flops = 2 * Double(m * n * k) / best
                let gbs = Double(kernel.weights[0].byteCount) / best
                print(
                    String(
                        format: "  m=%-4d %-16@ %8.2f ms %6.1f GB/s %4.0f%% bw %7.1f GFLOP/s %4.0f%% peak", m,
                        kernel.name, best * 1e3, gbs / 1e9, 100 * gbs / ceilings.cpuBandwidth, flops / 1e9,
                        100 * flops / ceilings.cpuPeakFLOPS))
            }
        }
    }

    func randomWeight(seed: Int) -> WeightTensor {
        let storage = HeapStorage(byteCount: n * k * 2)
        let bits = storage.pointer.assumingMemoryBound(to: UInt16.self)
        var state = UInt32(truncatingIfNeeded: seed &* 2_654_435_761 &+ 1)
        for i in 0..<n * k {
            state = state &* 1_664_525 &+ 1_013_904_223
            bits[i] = UInt16(truncatingIfNeeded: state >> 16) & 0x807F | 0x3C00
        }
        return WeightTensor(dtype: .bf16, shape: [n, k], data: UnsafeRawPointer(storage.pointer), owner: storage)
    }
}
