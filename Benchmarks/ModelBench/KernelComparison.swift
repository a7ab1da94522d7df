import Foundation
import Tensors

/// The pure-Swift SIMD linear kernel against the C kernels (bf16, Q8_0 rows, and Q8_0 / Q4_0 /
/// Q4_K / Q6_K repacked in groups of 8 rows as models load them) on a layer of the 1B model's shape
/// (gate_proj, 6144 × 1536), at decode and batched m. Each line's "% peak" is against the
/// peak of the dot products its kernel runs: the int8 one for the repacked types (their x is
/// quantized to 8 bits), the FMA one for the rest.
struct KernelComparison {
    let pool: KernelPool
    let n = 6144
    let k = 1536
    /// Enough distinct matrices that decode reads come from DRAM, not the L3 (32 MiB here):
    /// 16 × 18 MiB in bf16, 16 × 5 MiB in Q4_0.
    let numMatrices = 16

    func run(ceilings: MachineCeilings, repetitions: Int) {
        let weights = (0..<numMatrices).map { i in randomWeight(seed: i) }
        let quantized = weights.map { $0.quantizedQ8_0() }
        print("kernel comparison (\(pool.numThreads) threads, W \(n)x\(k); CPU-time figures, best of \(repetitions)):")
        let kernels: [(name: String, weights: [WeightTensor], swift: Bool)] = [
            ("Swift SIMD bf16", weights, true), ("C bf16", weights, false), ("C q8_0", quantized, false),
            ("C q8_0x16", quantized.map { $0.interleaved() }, false),
            ("C q4_0x16", weights.map { $0.quantized(to: .q4_0x16) }, false),
            ("C q4_Kx8", (0..<numMatrices).map { randomKQuant(.q4_K, seed: $0).interleaved() }, false),
            ("C q6_Kx8", (0..<numMatrices).map { randomKQuant(.q6_K, seed: $0).interleaved() }, false),
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
                let int8 = kernel.weights[0].dtype.isInterleaved
                print(
                    String(
                        format: "  m=%-4d %-16@ %8.2f ms %6.1f GB/s %4.0f%% bw %7.1f GFLOP/s %4.0f%% %@ peak", m,
                        kernel.name, best * 1e3, gbs / 1e9, 100 * gbs / ceilings.cpuBandwidth, flops / 1e9,
                        100 * flops / (int8 ? ceilings.cpuPeakInt8OPS : ceilings.cpuPeakFLOPS), int8 ? "int8" : "FMA"))
            }
        }
    }

    /// Random Q4_K / Q6_K super-blocks (there is no k-quant quantizer here): random quants, 6-bit
    /// scales and mins, small f16 d (and dmin).
    func randomKQuant(_ dtype: DType, seed: Int) -> WeightTensor {
        let blockBytes = dtype == .q4_K ? 144 : 210
        let numBlocks = n * k / 256
        let storage = HeapStorage(byteCount: numBlocks * blockBytes)
        var state = UInt32(truncatingIfNeeded: seed &* 2_654_435_761 &+ 7)
        for i in 0..<numBlocks * blockBytes {
            state = state &* 1_664_525 &+ 1_013_904_223
            storage.pointer.storeBytes(of: UInt8(truncatingIfNeeded: state >> 24), toByteOffset: i, as: UInt8.self)
        }
        let d = Float16(0.002).bitPattern
        for b in 0..<numBlocks {
            for offset in dtype == .q4_K ? [0, 2] : [208] {
                storage.pointer.storeBytes(of: d, toByteOffset: b * blockBytes + offset, as: UInt16.self)
            }
        }
        return WeightTensor(dtype: dtype, shape: [n, k], data: UnsafeRawPointer(storage.pointer), owner: storage)
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
