import Foundation
import Tensors
import Testing

@testable import Weights

/// GGUF files with llama.cpp's k-quant tensors (GGML types 12 = Q4_K, 14 = Q6_K):
/// mapped as views whose elements are the hand-computed weights, and rows that
/// are not whole super-blocks rejected at load.
@Suite("GGUF k-quants") struct GGUFKQuantTests {
    /// A GGUF v3 file without metadata: (name, row-major shape, GGML type, bytes), data 32-byte aligned.
    static func write(_ tensors: [(String, [Int], UInt32, [UInt8])], to url: URL) throws {
        var out: [UInt8] = []
        func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { out += $0 } }
        func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { out += $0 } }
        out += Array("GGUF".utf8)
        u32(3)
        u64(UInt64(tensors.count))
        u64(0)
        var offset = 0
        for (name, shape, type, bytes) in tensors {
            u64(UInt64(name.utf8.count))
            out += Array(name.utf8)
            u32(UInt32(shape.count))
            for d in shape.reversed() { u64(UInt64(d)) }
            u32(type)
            u64(UInt64(offset))
            offset += (bytes.count + 31) / 32 * 32
        }
        for (_, _, _, bytes) in tensors {
            out += [UInt8](repeating: 0, count: (32 - out.count % 32) % 32)
            out += bytes
        }
        try Data(out).write(to: url)
    }

    static func tempFile() -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("pangu-kquant-\(UUID().uuidString).gguf")
    }

    // Q4_K: d = 1 (f16 0x3C00), dmin = 0.5 (0x3800), 12 packed bytes decoding to these 6-bit
    // scales and mins (sub-blocks 4-7 from nibbles of bytes 8-11 and top bits of bytes 0-7).
    static let q4Packed: [UInt8] = [0xC5, 0x3F, 0x40, 0x80, 0x7E, 0xC0, 0x01, 0xFF, 0x21, 0xF0, 0x0F, 0x00]
    static let q4Scales: [Float] = [5, 63, 0, 0, 49, 0, 31, 32]
    static let q4Mins: [Float] = [62, 0, 1, 63, 18, 63, 0, 48]
    static func q4Nibbles(_ b: Int) -> [UInt8] { (0..<128).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ b) } }
    static func q4Block(_ b: Int) -> [UInt8] { [0x00, 0x3C, 0x00, 0x38] + q4Packed + q4Nibbles(b) }

    /// Q4_K weight j of super-block b: nibble bytes 32c ..< 32c + 32 hold weights 64c ..< 64c + 32
    /// (low nibbles) and 64c + 32 ..< 64c + 64 (high); sub-block j / 32.
    static func q4Value(_ b: Int, _ j: Int) -> Float {
        let byte = q4Nibbles(b)[32 * (j / 64) + j % 32]
        let q = j % 64 < 32 ? byte & 0x0F : byte >> 4
        return 1 * q4Scales[j / 32] * Float(q) - 0.5 * q4Mins[j / 32]
    }

    // Q6_K: ql, qh patterns, 16 int8 scales (negative ones included), d = 0.25 (f16 0x3400).
    static let q6Scales: [Int8] = [3, -3, 127, -128, 1, -1, 64, -64, 0, 7, -7, 100, -100, 12, -12, 5]
    static func q6Low(_ b: Int) -> [UInt8] { (0..<128).map { UInt8(truncatingIfNeeded: $0 &* 53 &+ b) } }
    static func q6High(_ b: Int) -> [UInt8] { (0..<64).map { UInt8(truncatingIfNeeded: $0 &* 29 &+ 7 * b) } }
    static func q6Block(_ b: Int) -> [UInt8] {
        q6Low(b) + q6High(b) + q6Scales.map { UInt8(bitPattern: $0) } + [0x00, 0x34]
    }

    /// Q6_K weight j of super-block b: half h = j / 128, quarter g, lane l; low 4 bits from
    /// ql[64h + 32(g mod 2) + l] (high nibble for g >= 2), bits 2g..2g+1 of qh[32h + l] on top.
    static func q6Value(_ b: Int, _ j: Int) -> Float {
        let (h, g, l) = (j / 128, j % 128 / 32, j % 32)
        let lowByte = q6Low(b)[64 * h + 32 * (g % 2) + l]
        let low = Int(g < 2 ? lowByte % 16 : lowByte / 16)
        let high = Int(q6High(b)[32 * h + l] >> (2 * g)) % 4
        return 0.25 * Float(q6Scales[8 * h + 2 * g + l / 16]) * Float(low + 16 * high - 32)
    }

    @Test("Q4_K and Q6_K tensors load as mapped views whose elements are the hand-computed weights")
    func loadsKQuants() throws {
        let url = Self.tempFile()
        defer { try? FileManager.default.removeItem(at: url) }
        // [2, 256] Q4_K (2 super-blocks), [1, 512] Q6_K (2), and an F32 tensor after them.
        try Self.write(
            [
                ("w4", [2, 256], 12, Self.q4Block(0) + Self.q4Block(1)),
                ("w6", [1, 512], 14, Self.q6Block(0) + Self.q6Block(1)),
                ("f", [2], 0, [0, 0, 0x80, 0x3F, 0, 0, 0, 0x40]),
            ], to: url)
        let file = try GGUFFile(path: url.path)
        let w4 = try #require(file.tensor(named: "w4"))
        let w6 = try #require(file.tensor(named: "w6"))
        #expect(w4.dtype == .q4_K && w4.shape == [2, 256] && w4.byteCount == 288)
        #expect(w6.dtype == .q6_K && w6.shape == [1, 512] && w6.byteCount == 420)
        for i in 0..<512 {
            #expect(w4.element(i) == Self.q4Value(i / 256, i % 256), "Q4_K element \(i)")
            #expect(w6.element(i) == Self.q6Value(i / 256, i % 256), "Q6_K element \(i)")
        }
        // Spot checks by hand: Q4_K weight 32 (sub-block 1, scale 63, min 0) is the high nibble of
        // byte 0 (0x00) → 0; weight 1 = low nibble of byte 1 (37 = 0x25 → 5) · 5 − 0.5 · 62 = −6.
        #expect(w4.element(32) == 0 && w4.element(1) == -6)
        var row = [Float](repeating: .nan, count: 256)
        row.withUnsafeMutableBufferPointer { w4.copyRow(1, to: $0.baseAddress!) }
        #expect(row == (0..<256).map { Self.q4Value(1, $0) })
        #expect(try #require(file.tensor(named: "f")).toFloats() == [1, 2])
    }

    @Test("a k-quant tensor whose rows are not whole super-blocks of 256 is a load error")
    func rejectsPartialSuperBlocks() throws {
        let url = Self.tempFile()
        defer { try? FileManager.default.removeItem(at: url) }
        try Self.write([("w", [2, 128], 12, Self.q4Block(0))], to: url)
        #expect(
            throws: WeightsError.corruptHeader(
                file: url.path, detail: "w: Q4_K rows of 128 are not whole super-blocks of 256")
        ) { try GGUFFile(path: url.path) }
        try Self.write([("w", [1, 256], 14, Array(Self.q6Block(0).dropLast(10)))], to: url)
        #expect(throws: WeightsError.truncated(file: url.path, detail: "tensor w ends past the file")) {
            try GGUFFile(path: url.path)
        }
    }
}
