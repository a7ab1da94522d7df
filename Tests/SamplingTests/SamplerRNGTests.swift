import Testing

@testable import Sampling
import Tensors

@Suite("SamplerRNG")
struct SamplerRNGTests {
    @Test("SplitMix64 matches the reference output for seed 0")
    func splitMixReference() {
        var mixer = SplitMix64(state: 0)
        #expect(mixer.next() == 0xE220_A839_7B1D_CDAF)
    }

    @Test("xoshiro256** seeded by SplitMix64 reproduces the reference C implementation's stream")
    func xoshiroReference() {
        var zero = SamplerRNG(seed: 0)
        #expect(
            (0..<4).map { _ in zero.next() } == [
                0x99EC_5F36_CB75_F2B4, 0xBF6E_1F78_4956_452A, 0x1A5F_849D_4933_E6E0, 0x6AA5_94F1_262D_2D2C,
            ])
        var fortyTwo = SamplerRNG(seed: 42)
        #expect(
            (0..<4).map { _ in fortyTwo.next() } == [
                0x1578_0B2E_0C2E_C716, 0x6104_D986_6D11_3A7E, 0xAE17_5332_39E4_99A1, 0xECB8_AD47_03B3_60A1,
            ])
    }

    @Test("unit-interval draws stay in [0, 1) and average about one half")
    func unitInterval() {
        var rng = SamplerRNG(seed: 7)
        let values = (0..<10_000).map { _ in rng.nextUnitInterval() }
        #expect(values.allSatisfy { $0 >= 0 && $0 < 1 })
        let mean = values.reduce(0, +) / Double(values.count)
        #expect(abs(mean - 0.5) < 0.02)
    }

    @Test("a request without a seed gets a fresh random one")
    func randomSeeds() {
        let a = Sampler(params: SamplingParams(), promptTokenIDs: [], eosTokenID: nil)
        let b = Sampler(params: SamplingParams(), promptTokenIDs: [], eosTokenID: nil)
        #expect(a.seed != b.seed)
        let seeded = Sampler(params: params { $0.seed = 99 }, promptTokenIDs: [], eosTokenID: nil)
        #expect(seeded.seed == 99)
    }

    @Test("the same seed samples the same tokens and different seeds differ")
    func seededDeterminism() {
        let values = randomLogits(count: 300, seed: 3, scale: 4)
        let seeded = params {
            $0.seed = 1234
            $0.topP = 0.95
        }
        var first = Sampler(params: seeded, promptTokenIDs: [], eosTokenID: nil)
        var second = Sampler(params: seeded, promptTokenIDs: [], eosTokenID: nil)
        var other = Sampler(
            params: params {
                $0.seed = 1235; $0.topP = 0.95
            }, promptTokenIDs: [], eosTokenID: nil)
        let a = draws(30, values, &first)
        let b = draws(30, values, &second)
        let c = draws(30, values, &other)
        #expect(a == b)
        #expect(a != c)
    }
}
