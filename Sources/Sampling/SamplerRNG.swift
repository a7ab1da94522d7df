import Tensors

/// The per-request random number generator that makes sampling reproducible.
///
/// Each `Sampler` owns one, seeded from `SamplingParams.seed` (or a fresh random
/// seed when the request gives none), so a request's draws never depend on other
/// requests in the batch. The generator is xoshiro256** (Blackman & Vigna,
/// "Scrambled linear pseudorandom number generators", 2018), its 256-bit state
/// filled from the 64-bit seed by SplitMix64 as its authors recommend.
///
/// Invariants: the output stream is a pure function of the seed, computed with
/// integer arithmetic only, so the same seed yields the same numbers on every
/// platform. The state is never all zero (SplitMix64 cannot produce four zero
/// words in a row from one seed).
public struct SamplerRNG: RandomNumberGenerator, Sendable, Hashable {
    private var s0: UInt64
    private var s1: UInt64
    private var s2: UInt64
    private var s3: UInt64

    /// Creates a generator whose whole output stream is determined by `seed`.
    public init(seed: UInt64) {
        var mixer = SplitMix64(state: seed)
        s0 = mixer.next()
        s1 = mixer.next()
        s2 = mixer.next()
        s3 = mixer.next()
    }

    /// A seed drawn from the system's entropy source, for requests without one.
    public static func randomSeed() -> UInt64 {
        var system = SystemRandomNumberGenerator()
        return system.next()
    }

    /// The next 64 uniformly distributed bits (xoshiro256**).
    public mutating func next() -> UInt64 {
        let result = rotateLeft(s1 &* 5, by: 7) &* 9
        let t = s1 << 17
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = rotateLeft(s3, by: 45)
        return result
    }

    /// A uniform draw from [0, 1) with 53 bits of resolution (the top bits of `next()`).
    public mutating func nextUnitInterval() -> Double {
        Double(next() >> 11) * 0x1p-53
    }

    private func rotateLeft(_ x: UInt64, by k: UInt64) -> UInt64 {
        (x << k) | (x >> (64 - k))
    }
}
