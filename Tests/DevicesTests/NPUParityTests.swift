import Tensors
import Testing

@testable import Devices

/// CPU (f32) versus simulated-NPU numerics, one table of ops × shapes × dtypes.
///
/// Bounds on the normalised mean squared error Σ(npu − cpu)² / Σcpu²: one
/// rounding to a format with unit roundoff u adds a relative error of at most
/// u, roughly uniform, so a variance of about u²/3 per rounding. An op rounds
/// its inputs (x and W for a matmul) and its output: about 3 · u²/3 = u².
/// bf16 (8 significant bits): u = 2⁻⁹, u² ≈ 3.8e-6, bound 1e-4 (26× margin,
/// room for partial cancellation in dot products). fp16 (11 bits): u = 2⁻¹²·2
/// = 4.9e-4, u² ≈ 2.4e-7, bound 1e-6 (4× margin); values stay far from the
/// fp16 overflow and subnormal range here.
@Suite("CPU versus NPU numerics parity")
struct NPUParityTests {
    static let bounds: [DType: Double] = [.bf16: 1e-4, .f16: 1e-6]

    /// Deterministic values in about [-scale, scale].
    static func values(_ count: Int, seed: UInt64, scale: Float = 1) -> [Float] {
        var state = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return (0..<count).map { _ in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return (Float(state >> 40) / Float(1 << 24) * 2 - 1) * scale
        }
    }

    static func linear(x: [Float], m: Int, weight: WeightTensor, bias: [Float], rounding: DType?) -> [Float] {
        // One thread: no worker threads to outlive the pool (tests run in parallel, each with its own pool).
        let pool = KernelPool(numThreads: 1)
        pool.matmulRounding = rounding
        var out = [Float](repeating: 0, count: m * weight.rows)
        x.withUnsafeBufferPointer { xp in
            bias.withUnsafeBufferPointer { bp in
                out.withUnsafeMutableBufferPointer { op in
                    guard let xBase = xp.baseAddress, let oBase = op.baseAddress else { return }
                    MatMul.linear(x: xBase, m: m, weight: weight, bias: bp.baseAddress, out: oBase, pool: pool)
                }
            }
        }
        return out
    }

    @Test(
        "linear at m = 1 and 7 with odd k and n stays within the per-dtype error bound and yields device values",
        arguments: [DType.bf16, .f16], [(1, 67, 33), (7, 67, 33), (1, 255, 129), (7, 255, 129)])
    func linearParity(dtype: DType, shape: (Int, Int, Int)) throws {
        let (m, k, n) = shape
        let x = Self.values(m * k, seed: UInt64(k))
        let weight = WeightTensor.owning(Self.values(n * k, seed: UInt64(n), scale: 0.2), shape: [n, k])
        let bias = Self.values(n, seed: 7, scale: 0.1)
        let cpu = Self.linear(x: x, m: m, weight: weight, bias: bias, rounding: nil)
        let npu = Self.linear(x: x, m: m, weight: weight, bias: bias, rounding: dtype)
        let error = NPUNumerics.normalizedMSE(npu, reference: cpu)
        let bound = try #require(Self.bounds[dtype])
        #expect(error > 0, "device rounding must change something")
        #expect(error < bound, "\(dtype) linear \(m)×\(k)×\(n): NMSE \(error)")
        #expect(npu.allSatisfy { Precision.round($0, to: dtype) == $0 }, "outputs are \(dtype) values")
    }

    @Test(
        "rmsNorm, softmax and silu·mul stay within the per-dtype error bound", arguments: [DType.bf16, .f16],
        [1, 63, 257])
    func vectorParity(dtype: DType, count: Int) throws {
        let bound = try #require(Self.bounds[dtype])
        let x = Self.values(3 * count, seed: UInt64(count), scale: 3)
        let weight = Self.values(count, seed: 11).map { 1 + $0 * 0.5 }
        var cpuNorm = [Float](repeating: 0, count: x.count)
        for row in 0..<3 {
            x.withUnsafeBufferPointer { xp in
                weight.withUnsafeBufferPointer { wp in
                    cpuNorm.withUnsafeMutableBufferPointer { op in
                        Elementwise.rmsNorm(
                            xp.baseAddress! + row * count, weight: wp.baseAddress!, eps: 1e-5,
                            out: op.baseAddress! + row * count, count: count)
                    }
                }
            }
        }
        let npuNorm = NPUNumerics.rmsNorm(x, weight: weight, eps: 1e-5, dtype: dtype)
        #expect(NPUNumerics.normalizedMSE(npuNorm, reference: cpuNorm) < bound, "rmsNorm \(dtype) \(count)")

        var cpuSoftmax = x
        cpuSoftmax.withUnsafeMutableBufferPointer { Elementwise.softmax($0.baseAddress!, count: $0.count) }
        let npuSoftmax = NPUNumerics.softmax(x, dtype: dtype)
        #expect(NPUNumerics.normalizedMSE(npuSoftmax, reference: cpuSoftmax) < bound, "softmax \(dtype) \(count)")

        let up = Self.values(3 * count, seed: 5)
        var cpuSilu = x
        cpuSilu.withUnsafeMutableBufferPointer { g in
            up.withUnsafeBufferPointer {
                Elementwise.siluMul(gate: g.baseAddress!, up: $0.baseAddress!, count: g.count)
            }
        }
        let npuSilu = NPUNumerics.siluMul(gate: x, up: up, dtype: dtype)
        #expect(NPUNumerics.normalizedMSE(npuSilu, reference: cpuSilu) < bound, "silu·mul \(dtype) \(count)")
    }

    @Test("the device type follows the checkpoint where the chip supports it, fp16 on 310P3")
    func deviceDType() throws {
        let catalog = try NPUFixtures.catalog()
        let b2 = try catalog.profile(named: "910B2")
        let p3 = try catalog.profile(named: "310P3")
        #expect(NPUDType.deviceDType(checkpoint: "bfloat16", profile: b2) == .bf16)
        #expect(NPUDType.deviceDType(checkpoint: "float16", profile: b2) == .fp16)
        #expect(NPUDType.deviceDType(checkpoint: "float32", profile: b2) == .bf16)
        #expect(NPUDType.deviceDType(checkpoint: "bfloat16", profile: p3) == .fp16)
        #expect(NPUDType.bf16.tensorDType == .bf16 && NPUDType.fp16.tensorDType == .f16)
    }
}
