/// Vectorised float kernels over a vocabulary-sized logits row (`SIMD8<Float>`,
/// compiled for the kernel CPU target), used by every sampling filter.
///
/// `exp` is our own Cephes-style polynomial (range reduction by ln 2, degree-6
/// minimax polynomial, relative error about 1e-7) rather than the C library's:
/// it runs 8 lanes per instruction, and since it uses only IEEE-754 additions
/// and multiplications it returns bit-identical results on every platform, which
/// keeps seeded sampling reproducible across machines. Inputs below -87.3
/// (weights under 1e-38 relative to the best token), -infinity and NaN give 0.
enum VectorMath {
    static let lanes = 8

    /// e^x for each lane; 0 below -87.3 and for NaN.
    @inline(__always)
    static func exp(_ x: SIMD8<Float>) -> SIMD8<Float> {
        // Masks and blends, not pointwiseMin/Max: those are not lowered to vector code.
        let inRange = x .>= -87.3
        var clamped = x.replacing(with: -87.3, where: .!inRange)
        clamped.replace(with: 88.7, where: clamped .> 88.7)
        // x = n·ln2 + r with |r| <= ln2/2. Adding 1.5·2^23 rounds to the nearest integer
        // (ties to even) and leaves n in the low mantissa bits; ln2 is split in two parts.
        let shifted = clamped * 1.442_695_04 + roundingMagic
        let n = shifted - roundingMagic
        var r = clamped - n * 0.693_359_375
        r = r - n * -2.121_944_40e-4
        var p: SIMD8<Float> = SIMD8(repeating: 1.987_569_15e-4)
        p = p * r + 1.398_199_95e-3
        p = p * r + 8.333_451_91e-3
        p = p * r + 4.166_579_59e-2
        p = p * r + 1.666_666_55e-1
        p = p * r + 5.000_000_12e-1
        let expR = p * (r * r) + r + 1
        // 2^n from the exponent bits; n is in [-126, 128) after clamping.
        let nBits = unsafeBitCast(shifted, to: SIMD8<Int32>.self) &- roundingMagicBits
        let scale = unsafeBitCast((nBits &+ 127) &<< 23, to: SIMD8<Float>.self)
        return (expR * scale).replacing(with: 0, where: .!inRange)
    }

    /// 1.5 · 2^23: adding it rounds a float of magnitude < 2^22 to an integer.
    private static let roundingMagic: Float = 12_582_912
    private static let roundingMagicBits = SIMD8<Int32>(repeating: 0x4B40_0000)

    /// e^x for one value, bit-identical to the vector lanes.
    @inline(__always)
    static func exp(_ x: Float) -> Float {
        exp(SIMD8(repeating: x))[0]
    }

    /// The largest logit, NaN counting as -infinity; -infinity for an empty row.
    static func maxKey(_ logits: UnsafeBufferPointer<Float>) -> Float {
        let numVectors = logits.count / lanes
        var best = SIMD8<Float>(repeating: -.infinity)
        for v in 0..<numVectors {
            let chunk = load(logits, at: v * lanes)
            best.replace(with: chunk, where: chunk .> best)  // NaN never compares greater
        }
        var result = best.max()
        for i in (numVectors * lanes)..<logits.count {
            result = Swift.max(result, TokenRanking.key(logits[i]))
        }
        return result
    }

    /// Writes `exp((logit - maxLogit) · invTemperature)` for every logit into `weights`.
    static func fillWeights(
        _ logits: UnsafeBufferPointer<Float>, maxLogit: Float, invTemperature: Float,
        into weights: UnsafeMutableBufferPointer<Float>
    ) {
        precondition(weights.count == logits.count, "one weight per logit")
        let numVectors = logits.count / lanes
        let out = UnsafeMutableRawPointer(weights.baseAddress.unsafelyUnwrapped)
        for v in 0..<numVectors {
            let chunk = load(logits, at: v * lanes)
            let w = exp((chunk - maxLogit) * invTemperature)
            out.storeBytes(of: w, toByteOffset: v * lanes * MemoryLayout<Float>.stride, as: SIMD8<Float>.self)
        }
        for i in (numVectors * lanes)..<logits.count {
            weights[i] = exp((logits[i] - maxLogit) * invTemperature)
        }
    }

    /// Σ values in double precision, eight lanes at a time.
    static func sum(_ values: UnsafeBufferPointer<Float>) -> Double {
        let numVectors = values.count / lanes
        var sum = SIMD8<Double>(repeating: 0)
        for v in 0..<numVectors {
            sum += SIMD8<Double>(load(values, at: v * lanes))
        }
        var total = sum.sum()
        for i in (numVectors * lanes)..<values.count { total += Double(values[i]) }
        return total
    }

    /// Number of elements greater than `value` (NaN never is).
    static func count(greaterThan value: Float, in values: UnsafeBufferPointer<Float>) -> Int {
        let numVectors = values.count / lanes
        var counts = SIMD8<Int32>(repeating: 0)
        for v in 0..<numVectors {
            // A true lane is all ones, i.e. -1.
            counts &-= unsafeBitCast(load(values, at: v * lanes) .> value, to: SIMD8<Int32>.self)
        }
        var total = Int(counts.wrappedSum())
        for i in (numVectors * lanes)..<values.count where values[i] > value { total += 1 }
        return total
    }

    /// Index of the first element equal to `value`, or nil.
    static func firstIndex(of value: Float, in values: UnsafeBufferPointer<Float>) -> Int? {
        for i in values.indices where values[i] == value { return i }
        return nil
    }

    /// Σ exp(logit - shift) in double precision (for log-softmax).
    static func sumExp(_ logits: UnsafeBufferPointer<Float>, shift: Float) -> Double {
        let numVectors = logits.count / lanes
        var sum = SIMD8<Double>(repeating: 0)
        for v in 0..<numVectors {
            let w = exp(load(logits, at: v * lanes) - shift)
            sum += SIMD8<Double>(w)
        }
        var total = sum.sum()
        for i in (numVectors * lanes)..<logits.count {
            total += Double(exp(logits[i] - shift))
        }
        return total
    }

    @inline(__always)
    static func load(_ row: UnsafeBufferPointer<Float>, at index: Int) -> SIMD8<Float> {
        UnsafeRawPointer(row.baseAddress.unsafelyUnwrapped + index).loadUnaligned(as: SIMD8<Float>.self)
    }
}
