import Models
import Testing

/// What the KV cache stores, independent of any model.
@Suite("Paged KV cache") struct PagedKVCacheTests {
    @Test("an f16 cache saturates values beyond its range instead of storing infinity (NaN stays NaN)")
    func f16CacheSaturates() {
        let cache = PagedKVCache(numLayers: 1, numBlocks: 1, blockSize: 2, kvDim: 4, numKVHeads: 1, dtype: .f16)
        let keys: [Float] = [1e6, -1e6, 1.5, .infinity]
        let values: [Float] = [65_504, -70_000, .nan, -.infinity]
        cache.store(keys: keys, values: values, layer: 0, slot: 1)
        let stored = UnsafeBufferPointer(
            start: cache.keys(layer: 0).assumingMemoryBound(to: Float16.self) + 4, count: 4)
        #expect(Array(stored) == [65_504, -65_504, 1.5, 65_504])
        let storedValues = UnsafeBufferPointer(
            start: cache.values(layer: 0).assumingMemoryBound(to: Float16.self) + 4, count: 4)
        #expect(storedValues[0] == 65_504 && storedValues[1] == -65_504 && storedValues[2].isNaN)
        #expect(storedValues[3] == -65_504)
    }

    @Test("a 16-bit cache takes half the bytes of an f32 one, and f32 stores exactly")
    func sizesAndExactF32() {
        let f32 = PagedKVCache(numLayers: 2, numBlocks: 3, blockSize: 4, kvDim: 8, numKVHeads: 1, dtype: .f32)
        #expect(
            PagedKVCache(numLayers: 2, numBlocks: 3, blockSize: 4, kvDim: 8, numKVHeads: 1, dtype: .bf16).byteCount * 2
                == f32.byteCount)
        let keys = (0..<8).map { Float($0) * 0.1 + 1e-7 }
        f32.store(keys: keys, values: keys, layer: 1, slot: 5)
        let stored = UnsafeBufferPointer(
            start: f32.keys(layer: 1).assumingMemoryBound(to: Float.self) + 5 * 8, count: 8)
        #expect(Array(stored) == keys)
    }

    @Test("each KV head's rows are contiguous: a token's heads go to [head, slot] of their layer")
    func headMajorLayout() {
        let cache = PagedKVCache(numLayers: 2, numBlocks: 2, blockSize: 4, kvDim: 6, numKVHeads: 3, dtype: .f32)
        #expect(cache.headDim == 2 && cache.headBytes == 8 * 2 * 4)
        let keys: [Float] = [1, 2, 3, 4, 5, 6]
        let values = keys.map { -$0 }
        cache.store(keys: keys, values: values, layer: 1, slot: 6)
        for head in 0..<3 {
            let k = cache.keys(layer: 1, kvHead: head).assumingMemoryBound(to: Float.self) + 6 * 2
            let v = cache.values(layer: 1, kvHead: head).assumingMemoryBound(to: Float.self) + 6 * 2
            #expect([k[0], k[1]] == [keys[2 * head], keys[2 * head + 1]])
            #expect([v[0], v[1]] == [values[2 * head], values[2 * head + 1]])
        }
        // Nothing else of the layer, or of layer 0, was written.
        let layer0 = UnsafeBufferPointer(start: cache.keys(layer: 0).assumingMemoryBound(to: Float.self), count: 48)
        #expect(layer0.allSatisfy { $0 == 0 })
        let heads = UnsafeBufferPointer(start: cache.keys(layer: 1).assumingMemoryBound(to: Float.self), count: 48)
        #expect(heads.filter { $0 != 0 }.count == 6)
    }
}
