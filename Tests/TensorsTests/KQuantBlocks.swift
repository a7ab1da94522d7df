import Tensors

/// Builds llama.cpp k-quant super-blocks (Q4_K, Q6_K) from their logical fields,
/// packing them the way ggml's quantizers lay them out (written forward from the
/// format description, independently of the decoders under test), and computes
/// each weight's value from those fields.
struct KQuantBlocks {
    /// Q4_K fields: f16 bits of d and dmin, 6-bit scales and mins of 8 sub-blocks, 256 nibbles.
    struct Q4K {
        var d: UInt16
        var dmin: UInt16
        var scales: [UInt8]
        var mins: [UInt8]
        var quants: [UInt8]

        var bytes: [UInt8] {
            var packed = [UInt8](repeating: 0, count: 12)
            for s in 0..<8 {
                let (sc, mn) = (scales[s], mins[s])
                precondition(sc < 64 && mn < 64)
                if s < 4 {
                    packed[s] |= sc
                    packed[s + 4] |= mn
                } else {
                    packed[s + 4] = (sc & 0x0F) | (mn & 0x0F) << 4
                    packed[s - 4] |= (sc >> 4) << 6
                    packed[s] |= (mn >> 4) << 6
                }
            }
            var nibbles = [UInt8](repeating: 0, count: 128)
            for chunk in 0..<4 {
                for l in 0..<32 {
                    nibbles[32 * chunk + l] = quants[64 * chunk + l] | quants[64 * chunk + 32 + l] << 4
                }
            }
            return le16(d) + le16(dmin) + packed + nibbles
        }

        /// Weight i: (d·scale)·q − dmin·min of its sub-block (i / 32).
        func value(_ i: Int) -> Float {
            let s = i / 32
            let subScale = Precision.f16ToFloat(d) * Float(scales[s])
            let subMin = Precision.f16ToFloat(dmin) * Float(mins[s])
            return subScale * Float(quants[i]) - subMin
        }
    }

    /// Q6_K fields: 256 6-bit quants (0 ..< 64), 16 int8 scales of groups of 16, f16 bits of d.
    struct Q6K {
        var quants: [UInt8]
        var scales: [Int8]
        var d: UInt16

        var bytes: [UInt8] {
            var low = [UInt8](repeating: 0, count: 128)
            var high = [UInt8](repeating: 0, count: 64)
            for i in 0..<256 {
                let (h, g, l) = (i / 128, i % 128 / 32, i % 32)
                let q = quants[i]
                precondition(q < 64)
                low[64 * h + 32 * (g % 2) + l] |= (q & 0x0F) << (g < 2 ? 0 : 4)
                high[32 * h + l] |= (q >> 4) << (2 * g)
            }
            return low + high + scales.map { UInt8(bitPattern: $0) } + le16(d)
        }

        /// Weight i: (d·scale)·(q − 32), its scale the one of group i / 16.
        func value(_ i: Int) -> Float {
            let subScale = Precision.f16ToFloat(d) * Float(scales[i / 16])
            return subScale * Float(Int(quants[i]) - 32)
        }
    }

    static func le16(_ v: UInt16) -> [UInt8] { [UInt8(v & 0xFF), UInt8(v >> 8)] }

    /// A deterministic generator (SplitMix64) for random valid blocks.
    struct Generator {
        var mixer: SplitMix64
        init(state: UInt64) { mixer = SplitMix64(state: state) }
        mutating func below(_ n: Int) -> Int { Int(mixer.next() % UInt64(n)) }
        /// f16 bits of a value of magnitude in [2^-10, 2^-5), either sign when `signed`.
        mutating func f16Scale(signed: Bool) -> UInt16 {
            let magnitude = Float(1 + below(1023)) / 1024 * Float(1 << below(5)) / 1024
            return Precision.floatToF16(signed && below(2) == 1 ? -magnitude : magnitude)
        }
    }

    static func randomQ4K(_ g: inout Generator) -> Q4K {
        Q4K(
            d: g.f16Scale(signed: false), dmin: g.f16Scale(signed: false),
            scales: (0..<8).map { _ in UInt8(g.below(64)) }, mins: (0..<8).map { _ in UInt8(g.below(64)) },
            quants: (0..<256).map { _ in UInt8(g.below(16)) })
    }

    static func randomQ6K(_ g: inout Generator) -> Q6K {
        Q6K(
            quants: (0..<256).map { _ in UInt8(g.below(64)) }, scales: (0..<16).map { _ in Int8(g.below(256) - 128) },
            d: g.f16Scale(signed: true))
    }
}
