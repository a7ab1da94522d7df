import Foundation
import Testing

@testable import Models

/// The KV cache's storage asks for transparent huge pages.
@Suite("KV cache pages") struct KVCachePagesTests {
    /// The `VmFlags` of the /proc/self/smaps entry whose range holds `address`.
    static func vmFlags(at address: UInt) throws -> [Substring]? {
        // FileHandle reads to the end; String(contentsOfFile:) stops after the first page of a proc file.
        let handle = try #require(FileHandle(forReadingAtPath: "/proc/self/smaps"))
        let smaps = String(decoding: handle.readDataToEndOfFile(), as: UTF8.self)
        var inRange = false
        for line in smaps.split(separator: "\n") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            if let range = fields.first, range.contains("-"), !range.hasSuffix(":") {
                let bounds = range.split(separator: "-").compactMap { UInt($0, radix: 16) }
                inRange = bounds.count == 2 && bounds[0] <= address && address < bounds[1]
            } else if inRange, fields.first == "VmFlags:" {
                return Array(fields.dropFirst())
            }
        }
        return nil
    }

    /// Whether the kernel hands out huge pages is up to it (free memory, fragmentation), so the
    /// test checks what the cache asks for: the mapping's `hg` flag (MADV_HUGEPAGE).
    @Test("the cache is 2 MiB aligned and its mapping asks for huge pages")
    func hugePages() throws {
        let cache = PagedKVCache(numLayers: 2, numBlocks: 64, blockSize: 16, kvDim: 768, numKVHeads: 6, dtype: .f16)
        let address = UInt(bitPattern: cache.keys(layer: 0))
        #expect(address % UInt(2 << 20) == 0)
        // Without THP in the kernel, madvise refuses MADV_HUGEPAGE and there is nothing to check.
        guard FileManager.default.fileExists(atPath: "/sys/kernel/mm/transparent_hugepage") else { return }
        #expect(try Self.vmFlags(at: address)?.contains("hg") == true)
    }
}
