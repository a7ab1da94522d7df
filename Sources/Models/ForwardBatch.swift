/// One forward pass's input: the new tokens of several sequences, flattened
/// into rows, with where each token's KV goes and which rows need logits.
///
/// Built by a worker from the scheduler's output (or by `generate`). Row `i`
/// is token `tokenIDs[i]` at `positions[i]`, its KV written to `slotMapping[i]`.
/// Tokens of one sequence are consecutive rows with increasing positions;
/// attention of a row covers positions `0...positions[i]` of its sequence.
public struct ForwardBatch: Sendable {
    /// A run of consecutive rows belonging to one sequence.
    public struct Sequence: Sendable {
        /// First row of this sequence in the batch.
        public var firstRow: Int
        /// Number of rows (new tokens) of this sequence.
        public var numRows: Int
        /// Physical block ids holding this sequence's KV, in position order.
        public var blockTable: [Int]

        public init(firstRow: Int, numRows: Int, blockTable: [Int]) {
            self.firstRow = firstRow
            self.numRows = numRows
            self.blockTable = blockTable
        }
    }

    public var tokenIDs: [Int] = []
    public var positions: [Int] = []
    public var slotMapping: [Int] = []
    public var sequences: [Sequence] = []
    /// Rows whose logits are returned, in this order.
    public var logitRows: [Int] = []

    public init() {}

    public var numRows: Int { tokenIDs.count }

    /// Appends `tokens` of a sequence whose first new token is at `startPosition`;
    /// `blockSize` maps positions to slots. Returns the index of the sequence.
    @discardableResult
    public mutating func append(
        tokens: some Collection<Int>, startPosition: Int, blockTable: [Int], blockSize: Int,
        wantLogits: LogitsWanted = .last
    ) -> Int {
        let firstRow = tokenIDs.count
        for (offset, token) in tokens.enumerated() {
            let position = startPosition + offset
            tokenIDs.append(token)
            positions.append(position)
            slotMapping.append(blockTable[position / blockSize] * blockSize + position % blockSize)
        }
        switch wantLogits {
        case .none: break
        case .last: logitRows.append(tokenIDs.count - 1)
        case .all: logitRows.append(contentsOf: firstRow..<tokenIDs.count)
        }
        sequences.append(Sequence(firstRow: firstRow, numRows: tokens.count, blockTable: blockTable))
        return sequences.count - 1
    }

    /// Which rows of an appended sequence need logits.
    public enum LogitsWanted: Sendable {
        case none, last, all
    }
}
