import Engine

/// Building the cost model's view of a step from the worker's scheduled chunks.
extension NPUBatch {
    /// A chunk of one token that samples at position p > 0 is a decode over
    /// p + 1 tokens; any other chunk is a prefill chunk of its tokens over
    /// the `startPosition` tokens already cached. Empty chunks are skipped.
    public init(chunks: [ScheduledChunk]) {
        self.init()
        for chunk in chunks where !chunk.tokenIDs.isEmpty {
            if chunk.tokenIDs.count == 1 && chunk.startPosition > 0 && chunk.samplesToken {
                decodeContextLengths.append(chunk.startPosition + 1)
            } else {
                prefillChunks.append(
                    PrefillChunk(numNewTokens: chunk.tokenIDs.count, numCachedTokens: chunk.startPosition))
            }
        }
    }
}
