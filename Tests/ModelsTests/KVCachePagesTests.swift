import Foundation
import Testing

@testable import Models

/// The KV cache's storage is in transparent huge pages where the kernel allows them.
@Suite("KV cache pages") struct KVCachePagesTests {
    /// The kB of `AnonHugePages` in the /proc/self/smaps entry whose range holds `address`.
    static func hugePageKB(at address: UInt) throws -> Int? {
        // FileHandle reads to the end; String(contentsOfFile:) stops after the first page of a proc file.
        let handle = try #require(FileHandle(forReadingAtPath: "/proc/self/smaps"))
        let smaps = String(decoding: handle.readDataToEndOfFile(), as: UTF8.self)
        var inRange = false
        for line in smaps.split(separator: "\n") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            if let range = fields.first, range.contains("-"), !range.hasSuffix(":") {
                let bounds = range.split(separator: "-").compactMap { UInt($0, radix: 16) }
                inRange = bounds.count == 2 && bounds[0] <= address && address < bounds[1]
            } else if inRange, fields.first == "AnonHugePages:", fields.count > 1 {
                return Int(fields[1])
            }
        }
        return nil
    }

    @Test("the cache is 2 MiB aligned and backed by huge pages where THP allows")
    func hugePages() throws {
        let cache = PagedKVCache(numLayers: 2, numBlocks: 64, blockSize: 16, kvDim: 768, numKVHeads: 6, dtype: .f16)
        let address = UInt(bitPattern: cache.keys(layer: 0))
        #expect(address % UInt(2 << 20) == 0)
        let mode = (try? String(contentsOfFile: "/sys/kernel/mm/transparent_hugepage/enabled", encoding: .utf8)) ?? ""
        guard mode.contains("[madvise]") || mode.contains("[always]") else { return }  // THP off: nothing to check
        #expect(try Self.hugePageKB(at: address) ?? 0 >= 2048)
    }
}
