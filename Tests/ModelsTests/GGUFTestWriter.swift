import Foundation
import Tensors

/// Writes a GGUF v3 file (the subset llama.cpp's writer emits for a dense model:
/// scalar metadata, then tensor infos, then 32-byte-aligned data), for tests.
struct GGUFTestWriter {
    enum Value {
        case u32(UInt32)
        case f32(Float)
        case string(String)
    }

    var values: [(String, Value)] = []
    /// name, row-major shape, GGML type, raw bytes
    var tensors: [(String, [Int], UInt32, [UInt8])] = []

    mutating func add(_ name: String, _ tensor: WeightTensor, bytes: [UInt8]? = nil) {
        let type: UInt32 =
            switch tensor.dtype {
            case .f32: 0
            case .f16: 1
            case .q8_0: 8
            case .q4_0: 2
            case .q4_K: 12
            case .q6_K: 14
            case .bf16: 30
            case .q8_0x16, .q4_0x16, .q4_Kx8, .q6_Kx8:
                preconditionFailure("\(tensor.dtype) is an in-memory layout, not a GGUF type")
            }
        let raw = bytes ?? Array(UnsafeRawBufferPointer(start: tensor.data, count: tensor.byteCount))
        tensors.append((name, tensor.shape, type, raw))
    }

    func data() -> Data {
        var out = Data()
        func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) } }
        func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) } }
        func string(_ s: String) {
            u64(UInt64(s.utf8.count))
            out.append(contentsOf: Array(s.utf8))
        }
        out.append(contentsOf: Array("GGUF".utf8))
        u32(3)
        u64(UInt64(tensors.count))
        u64(UInt64(values.count))
        for (key, value) in values {
            string(key)
            switch value {
            case .u32(let v): u32(4); u32(v)
            case .f32(let v): u32(6); u32(v.bitPattern)
            case .string(let v): u32(8); string(v)
            }
        }
        var offset = 0
        for (name, shape, type, bytes) in tensors {
            string(name)
            u32(UInt32(shape.count))
            for d in shape.reversed() { u64(UInt64(d)) }
            u32(type)
            u64(UInt64(offset))
            offset += (bytes.count + 31) / 32 * 32
        }
        out.append(contentsOf: [UInt8](repeating: 0, count: (32 - out.count % 32) % 32))
        for (_, _, _, bytes) in tensors {
            out.append(contentsOf: bytes)
            out.append(contentsOf: [UInt8](repeating: 0, count: (32 - bytes.count % 32) % 32))
        }
        return out
    }
}
