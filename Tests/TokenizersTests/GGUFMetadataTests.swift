import Foundation
import Testing

@testable import Tokenizers

@Suite("GGUF metadata reader")
struct GGUFMetadataTests {
    /// Builds GGUF v3 bytes with the given key/values (already encoded as type + payload).
    struct Writer {
        var bytes: [UInt8] = []

        mutating func u32(_ value: UInt32) { withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) } }
        mutating func u64(_ value: UInt64) { withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) } }
        mutating func string(_ value: String) {
            u64(UInt64(value.utf8.count))
            bytes.append(contentsOf: value.utf8)
        }

        static func file(version: UInt32 = 3, _ entries: [(String, (inout Writer) -> Void)]) -> [UInt8] {
            var writer = Writer()
            writer.bytes.append(contentsOf: Array("GGUF".utf8))
            writer.u32(version)
            writer.u64(0)
            writer.u64(UInt64(entries.count))
            for (key, write) in entries {
                writer.string(key)
                write(&writer)
            }
            return writer.bytes
        }
    }

    /// A tiny `llama` vocabulary: <unk> <s> </s> ▁ a b ▁a ab, plus values of every other type.
    static func sampleFile() -> [UInt8] {
        let tokens = ["<unk>", "<s>", "</s>", "▁", "a", "b", "▁a", "ab"]
        let scores: [Float] = [0, 0, 0, -1, -2, -3, -0.5, -0.7]
        let types: [Int32] = [2, 3, 3, 1, 1, 1, 1, 1]
        return Writer.file([
            (
                "general.architecture",
                {
                    $0.u32(8); $0.string("llama")
                }
            ),
            (
                "tokenizer.ggml.model",
                {
                    $0.u32(8); $0.string("llama")
                }
            ),
            (
                "tokenizer.ggml.tokens",
                { w in
                    w.u32(9); w.u32(8); w.u64(UInt64(tokens.count)); tokens.forEach { w.string($0) }
                }
            ),
            (
                "tokenizer.ggml.scores",
                { w in
                    w.u32(9); w.u32(6); w.u64(UInt64(scores.count)); scores.forEach { w.u32($0.bitPattern) }
                }
            ),
            (
                "tokenizer.ggml.token_type",
                { w in
                    w.u32(9); w.u32(5); w.u64(UInt64(types.count)); types.forEach { w.u32(UInt32(bitPattern: $0)) }
                }
            ),
            (
                "tokenizer.ggml.bos_token_id",
                {
                    $0.u32(4); $0.u32(1)
                }
            ),
            (
                "tokenizer.ggml.eos_token_id",
                {
                    $0.u32(4); $0.u32(2)
                }
            ),
            (
                "tokenizer.ggml.add_bos_token",
                {
                    $0.u32(7); $0.bytes.append(0)
                }
            ),
            (
                "test.u8",
                {
                    $0.u32(0); $0.bytes.append(200)
                }
            ),
            (
                "test.i8",
                {
                    $0.u32(1); $0.bytes.append(0xFF)
                }
            ),
            (
                "test.i64",
                {
                    $0.u32(11); $0.u64(UInt64(bitPattern: -5))
                }
            ),
            (
                "test.f64",
                {
                    $0.u32(12); $0.u64((2.5).bitPattern)
                }
            ),
            (
                "test.nested",
                { w in
                    w.u32(9); w.u32(9); w.u64(2)
                    for _ in 0..<2 { w.u32(2); w.u64(1); w.bytes.append(contentsOf: [7, 0]) }
                }
            ),
        ])
    }

    static func write(_ bytes: [UInt8], name: String) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("\(name)-\(UUID().uuidString).gguf")
        try Data(bytes).write(to: url)
        return url
    }

    @Test("metadata values of every type are read")
    func readsAllTypes() throws {
        let url = try Self.write(Self.sampleFile(), name: "sample")
        defer { try? FileManager.default.removeItem(at: url) }
        let metadata = try GGUFMetadata.load(contentsOf: url)
        #expect(metadata.version == 3 && metadata.numTensors == 0)
        #expect(metadata.string("general.architecture") == "llama")
        #expect(metadata.strings("tokenizer.ggml.tokens")?.count == 8)
        #expect(metadata.floats("tokenizer.ggml.scores")?[6] == -0.5)
        #expect(metadata.ints("tokenizer.ggml.token_type")?.first == 2)
        #expect(metadata.int("test.u8") == 200 && metadata.int("test.i8") == -1 && metadata.int("test.i64") == -5)
        #expect(metadata.bool("tokenizer.ggml.add_bos_token") == false)
        guard case .float(let value) = metadata.values["test.f64"],
            case .array(.arrays(let nested)) = metadata.values["test.nested"]
        else {
            Issue.record("f64 or nested array not read")
            return
        }
        #expect(value == 2.5 && nested.count == 2)
    }

    @Test("a llama GGUF vocabulary builds a sentencepiece tokenizer with its metadata ids")
    func buildsSentencePiece() throws {
        let url = try Self.write(Self.sampleFile(), name: "sample")
        defer { try? FileManager.default.removeItem(at: url) }
        let tokenizer = try TokenizerLoader.load(gguf: url)
        #expect(
            tokenizer.vocabSize == 8 && tokenizer.bosTokenID == 1 && tokenizer.eosTokenID == 2 && !tokenizer.addsBOS)
        #expect(tokenizer.encode("ab a") == [6, 5, 6])  // ▁a b ▁a: "▁a" (-0.5) merges before "ab" (-0.7)
        #expect(tokenizer.encode("b") == [3, 5])
        #expect(tokenizer.decode([6, 5, 6]) == "ab a")
    }

    @Test("a file with the wrong magic is rejected naming the file")
    func badMagic() throws {
        var bytes = Self.sampleFile()
        bytes[0] = UInt8(ascii: "X")
        let url = try Self.write(bytes, name: "badmagic")
        defer { try? FileManager.default.removeItem(at: url) }
        #expect(throws: TokenizerError.badMagic(path: url.path)) { try TokenizerLoader.load(gguf: url) }
    }

    @Test("GGUF v1 is reported as an unsupported version")
    func oldVersion() throws {
        let url = try Self.write(Writer.file(version: 1, []), name: "v1")
        defer { try? FileManager.default.removeItem(at: url) }
        #expect(throws: TokenizerError.unsupportedVersion(path: url.path, version: 1)) {
            try GGUFMetadata.load(contentsOf: url)
        }
    }

    @Test("every truncation of the file is a truncatedFile error naming it")
    func truncated() throws {
        let bytes = Self.sampleFile()
        for length in stride(from: 0, to: bytes.count, by: 7) {
            let url = try Self.write(Array(bytes.prefix(length)), name: "truncated")
            defer { try? FileManager.default.removeItem(at: url) }
            let error = #expect(throws: TokenizerError.self) { try GGUFMetadata.load(contentsOf: url) }
            guard case .truncatedFile(let path, _) = error else {
                Issue.record("length \(length): expected truncatedFile, got \(String(describing: error))")
                continue
            }
            #expect(path == url.path)
        }
    }
}
