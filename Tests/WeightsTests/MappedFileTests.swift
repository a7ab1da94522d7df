import Foundation
import Tensors
import Testing

@testable import Weights

/// A mapped file hands back the pages of a tensor that was copied elsewhere
/// (the Q4_0 / Q4_K repacking at load) without changing what it reads.
@Suite("Mapped files") struct MappedFileTests {
    @Test("pages handed back read the file's bytes again, and a tensor repacked from them keeps its weights")
    func releasedPagesReadTheFileAgain() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("pangu-mapped-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: url) }
        // Every byte below 0x3C, so any two of them read as an f16 are finite.
        let bytes: [UInt8] = (0..<(5 * 4096 + 123)).map { (i: Int) -> UInt8 in UInt8((i * 31 + 7) % 60) }
        try Data(bytes).write(to: url)
        let file = try MappedFile(path: url.path)
        #expect(Array(UnsafeRawBufferPointer(start: file.base, count: file.byteCount)) == bytes)
        file.releasePages(file.base + 100, byteCount: 4 * 4096)
        #expect(Array(UnsafeRawBufferPointer(start: file.base, count: file.byteCount)) == bytes)

        // 16 rows of one Q4_0 block (18 bytes) inside the file: repacking releases their pages.
        let view = WeightTensor(dtype: .q4_0, shape: [16, 32], data: file.base + 4000, owner: file)
        let before = view.toFloats()
        let repacked = view.interleaved()
        #expect(repacked.dtype == .q4_0x16 && repacked.toFloats() == before && view.toFloats() == before)
    }
}
