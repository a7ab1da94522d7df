import Testing

@testable import Devices

/// Relative closeness for hand-computed Doubles.
func isClose(_ a: Double, _ b: Double, relative: Double = 1e-9) -> Bool {
    abs(a - b) <= relative * max(abs(a), abs(b))
}

@Suite("NPU cost model")
struct NPUCostModelTests {
    // 910B2 constants used below:
    //   effective bf16 cube rate = 353.8944e12 × 0.7 = 247.72608e12 FLOP/s
    //   effective HBM bandwidth   = 1.6 × 2^40 × 0.6 = 1,055,531,162,664.96 B/s
    static let effectiveBF16 = 353_894_400_000_000.0 * 0.7
    static let effectiveHBM = 1.6 * 1_099_511_627_776 * 0.6

    @Test("a decode matmul (4096x4096 bf16, batch 1) is memory-bound: bytes / (1.6 TiB/s × 0.6) + 5 µs")
    func memoryBoundDecodeMatmul() throws {
        let model = try NPUFixtures.costModel("910B2")
        let op = NPUOp.matmul(
            name: "o_proj", numTokens: 1, inFeatures: 4096, outFeatures: 4096, weightDType: .bf16,
            activationDType: .bf16)
        // FLOPs = 2 × 1 × 4096 × 4096 = 33,554,432
        // bytes = W 4096×4096×2 (33,554,432) + x 4096×2 (8,192) + y 4096×2 (8,192) = 33,570,816
        #expect(op.flops == 33_554_432)
        #expect(op.bytes == 33_570_816)
        let timing = try model.timing(of: op)
        // compute = 33,554,432 / 247.72608e12 = 0.1354 µs; memory = 33,570,816 / 1.05553e12 = 31.8047 µs
        #expect(timing.bound == .memory)
        #expect(isClose(timing.memorySeconds, 33_570_816 / Self.effectiveHBM))
        #expect(isClose(timing.memorySeconds, 31.80466592e-6, relative: 1e-8))
        // total = 31.8047 + 5 = 36.8047 µs
        #expect(isClose(timing.seconds, 36.80466592e-6, relative: 1e-8))
    }

    @Test("a prefill matmul (2048 tokens × 4096 × 12800 bf16) is compute-bound: flops / (353.9 TFLOPS × 0.7) + 5 µs")
    func computeBoundPrefillMatmul() throws {
        let model = try NPUFixtures.costModel("910B2")
        let op = NPUOp.matmul(
            name: "gate_up", numTokens: 2048, inFeatures: 4096, outFeatures: 12800, weightDType: .bf16,
            activationDType: .bf16)
        // FLOPs = 2 × 2048 × 4096 × 12800 = 214,748,364,800
        // bytes = 4096×12800×2 (104,857,600) + 2048×4096×2 (16,777,216) + 2048×12800×2 (52,428,800) = 174,063,616
        #expect(op.flops == 214_748_364_800)
        #expect(op.bytes == 174_063_616)
        let timing = try model.timing(of: op)
        // compute = 214,748,364,800 / 247.72608e12 = 866.878 µs > memory 164.906 µs
        #expect(timing.bound == .compute)
        #expect(isClose(timing.computeSeconds, 214_748_364_800 / Self.effectiveBF16))
        #expect(isClose(timing.memorySeconds, 164.90618388e-6, relative: 1e-8))
        // total = 866.878 + 5 = 871.878 µs
        #expect(isClose(timing.seconds, 871.87830688e-6, relative: 1e-8))
    }

    @Test("int8 (W8A8) runs the cube at twice the bf16 rate")
    func int8DoublesCubeRate() throws {
        let model = try NPUFixtures.costModel("910B2")
        let bf16Rate = try model.effectiveFLOPsPerSecond(.matmul, dtype: .bf16)
        let int8Rate = try model.effectiveFLOPsPerSecond(.matmul, dtype: .int8)
        #expect(int8Rate == 2 * bf16Rate)
        let int8 = NPUOp.matmul(
            name: "gate_up", numTokens: 2048, inFeatures: 4096, outFeatures: 12800, weightDType: .int8,
            activationDType: .bf16)
        // Same FLOPs; compute = 214,748,364,800 / (2 × 247.72608e12) = 433.439 µs.
        // bytes = W 52,428,800 (int8) + x 8,388,608 (int8) + y 52,428,800 (bf16) = 113,246,208
        #expect(int8.bytes == 113_246_208)
        let timing = try model.timing(of: int8)
        #expect(timing.bound == .compute)
        #expect(isClose(timing.computeSeconds, 433.43915344e-6, relative: 1e-8))
        #expect(isClose(timing.seconds, 438.43915344e-6, relative: 1e-8))
    }

    @Test("a vector op uses the vector rate and a 2 µs launch; a fused stage pays no launch")
    func vectorOp() throws {
        let model = try NPUFixtures.costModel("910B2")
        // 1M elements × 100 FLOPs = 1e8 FLOPs over 22.1184e12 × 0.7 = 15.4829e12 FLOP/s = 6.4587 µs;
        // bytes 1M × 4 = 4,000,000 / 1.05553e12 = 3.7895 µs -> compute-bound.
        let op = NPUOp.vector(name: "v", numElements: 1_000_000, flopsPerElement: 100, bytesPerElement: 4, dtype: .bf16)
        let timing = try model.timing(of: op)
        #expect(timing.bound == .compute)
        #expect(isClose(timing.seconds, 1e8 / (22_118_400_000_000 * 0.7) + 2e-6))
        var fused = op
        fused.numLaunches = 0
        #expect(isClose(try model.seconds(of: fused), 1e8 / (22_118_400_000_000 * 0.7)))
    }

    @Test("an all-reduce inside one server follows the full-mesh formula 2α + 2(n−1)/n · S/B + 10 µs")
    func allReduceInsideServer() throws {
        let model = try NPUFixtures.costModel("910B2")
        let bytes = 16.0 * 1_048_576  // S = 16 MiB = 16,777,216 B
        // B = 196e9 × 0.7 = 137.2e9 B/s, α = 0.5 µs.
        // n = 4: 2 × 0.5 + 2 × 3/4 × 16,777,216 / 137.2e9 (= 183.4244 µs) + 10 = 194.4244 µs
        let four = try model.timing(of: .collective(name: "ar", .allReduce, numRanks: 4, bytes: bytes, dtype: .bf16))
        #expect(four.bound == .communication)
        #expect(isClose(four.seconds, 194.42437318e-6, relative: 1e-8))
        // n = 8: 2 × 0.5 + 2 × 7/8 × 16,777,216 / 137.2e9 (= 213.9951 µs) + 10 = 224.9951 µs
        let eight = try model.timing(of: .collective(name: "ar", .allReduce, numRanks: 8, bytes: bytes, dtype: .bf16))
        #expect(isClose(eight.seconds, 224.99510204e-6, relative: 1e-8))
        // One rank: nothing to do, no launch.
        #expect(
            try model.seconds(of: .collective(name: "ar", .allReduce, numRanks: 1, bytes: bytes, dtype: .bf16)) == 0)
    }

    @Test("an all-reduce over two servers is hierarchical: reduce-scatter, inter-server all-reduce, all-gather")
    func allReduceAcrossServers() throws {
        let model = try NPUFixtures.costModel("910B2")
        let bytes = 16.0 * 1_048_576
        // n = 16 = 2 servers × 8 cards.
        // inside, twice: α + 7/8 × S / 137.2e9 = 0.5 + 106.9976 µs
        // between (switched ring, m = 2, payload S/8 = 2 MiB, B = 25e9 × 0.7 = 17.5e9, α = 1.5 µs):
        //   2 × (1 × 1.5 + 1/2 × 2,097,152 / 17.5e9) = 3 + 119.8373 µs
        // total = 214.9951 + 122.8373 + 10 (launch) = 347.8324 µs
        let timing = try model.timing(
            of: .collective(name: "ar", .allReduce, numRanks: 16, bytes: bytes, dtype: .bf16))
        #expect(isClose(timing.seconds, 347.83235918e-6, relative: 1e-8))
    }

    @Test(
        "ring formulas on a switched link: all-reduce 2(n−1)(α + S/(nB)), all-gather and all-to-all (n−1)(α + S/(nB))")
    func switchedLinkFormulas() throws {
        let link = ChipProfile.Link(topology: .switched, bandwidthBytesPerSecond: 10e9, latencyMicroseconds: 2)
        let links = LinkModel(intraServer: link, interServer: link, numCardsPerServer: 8, efficiency: 0.5)
        // B = 5e9 B/s, α = 2 µs, n = 4, S = 1e6 B: one step = 2 µs + 250,000 / 5e9 (50 µs) = 52 µs
        #expect(isClose(links.seconds(.allReduce, bytes: 1e6, numRanks: 4), 6 * 52e-6))
        #expect(isClose(links.seconds(.allGather, bytes: 1e6, numRanks: 4), 3 * 52e-6))
        #expect(isClose(links.seconds(.reduceScatter, bytes: 1e6, numRanks: 4), 3 * 52e-6))
        #expect(isClose(links.seconds(.allToAll, bytes: 1e6, numRanks: 4), 3 * 52e-6))
    }

    @Test("all-gather and all-to-all on the full mesh take one hop of latency")
    func meshGatherAndAllToAll() throws {
        let model = try NPUFixtures.costModel("910B2")
        // α + 7/8 × 1e6 / 137.2e9 = 0.5 + 6.3776 µs
        let expected = 0.5e-6 + 7.0 / 8.0 * 1e6 / 137.2e9
        #expect(isClose(model.links.seconds(.allGather, bytes: 1e6, numRanks: 8), expected))
        #expect(isClose(model.links.seconds(.allToAll, bytes: 1e6, numRanks: 8), expected))
    }
}
