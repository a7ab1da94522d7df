import Foundation
import Models
import Tensors
import Testing

/// One prompt of a `reference.json` (tiny-pangu-embedded, tiny-pangu-moe, the demo model).
struct ReferenceCase {
    let name: String
    let inputIDs: [Int]
    let lastLogits: [Float]
    let top10PerPosition: [[Int]]?
    let top10LogitsPerPosition: [[Float]]?
    let greedyIDs: [Int]

    static func load(_ url: URL) throws -> [ReferenceCase] {
        let data = try Data(contentsOf: url)
        let root = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let cases = try #require(root["cases"] as? [[String: Any]])
        return try cases.map { c in
            ReferenceCase(
                name: c["name"] as? String ?? "?",
                inputIDs: try #require(c["input_ids"] as? [Int]),
                lastLogits: try #require(c["last_logits"] as? [NSNumber]).map(\.floatValue),
                top10PerPosition: c["top10_ids_per_position"] as? [[Int]],
                top10LogitsPerPosition: (c["top10_logits_per_position"] as? [[NSNumber]])?.map { $0.map(\.floatValue) },
                greedyIDs: try #require((c["greedy"] as? [String: Any])?["ids"] as? [Int]))
        }
    }
}

/// Runs a model on one sequence with a contiguous block table, the simplest use of the paged cache.
final class SequenceRunner {
    let model: any CausalLM
    let cache: PagedKVCache
    let blockTable: [Int]
    var numComputed = 0

    init(model: any CausalLM, maxTokens: Int, blockSize: Int = 16, cacheDType: DType = .f32) {
        self.model = model
        let numBlocks = (maxTokens + blockSize - 1) / blockSize
        cache = PagedKVCache(config: model.config, numBlocks: numBlocks, blockSize: blockSize, dtype: cacheDType)
        blockTable = Array(0..<numBlocks)
    }

    /// Feeds `tokens`; returns logits of every fed position ([n, vocab]) or only the last.
    func feed(_ tokens: [Int], allLogits: Bool = false) -> [Float] {
        var batch = ForwardBatch()
        batch.append(
            tokens: tokens, startPosition: numComputed, blockTable: blockTable, blockSize: cache.blockSize,
            wantLogits: allLogits ? .all : .last)
        numComputed += tokens.count
        return model.forward(batch, cache: cache)
    }
}

func argmax(_ v: ArraySlice<Float>) -> Int {
    var best = v.startIndex
    for i in v.indices where v[i] > v[best] { best = i }
    return best - v.startIndex
}

/// max |a - b| / max |b|, the logits tolerance measure.
func relativeError(_ a: ArraySlice<Float>, _ b: [Float]) -> Float {
    var maxDiff: Float = 0
    var maxRef: Float = 0
    for (x, y) in zip(a, b) {
        maxDiff = max(maxDiff, abs(x - y))
        maxRef = max(maxRef, abs(y))
    }
    return maxDiff / maxRef
}

/// Indices (relative to the slice start) of the k largest values, largest first.
func topK(_ v: ArraySlice<Float>, _ k: Int) -> [Int] {
    v.withUnsafeBufferPointer { b in
        var best: [(Float, Int)] = []
        var floor = -Float.infinity
        for i in 0..<b.count where b[i] > floor || best.count < k {
            best.append((b[i], i))
            if best.count > k {
                best.sort { $0.0 > $1.0 }
                best.removeLast()
                floor = best[k - 1].0
            }
        }
        return best.sorted { $0.0 > $1.0 }.prefix(k).map(\.1)
    }
}
