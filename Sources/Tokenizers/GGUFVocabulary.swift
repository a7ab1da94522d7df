import Foundation

/// Builds a tokenizer from the `tokenizer.ggml.*` metadata of a GGUF file:
/// `llama` vocabularies become a `SentencePieceTokenizer`, `gpt2` vocabularies a
/// `ByteLevelBPETokenizer` with the pre-tokenizer named by `tokenizer.ggml.pre`.
enum GGUFVocabulary {
    static func makeTokenizer(metadata: GGUFMetadata, path: String) throws -> any Tokenizer {
        guard let model = metadata.string("tokenizer.ggml.model") else {
            throw TokenizerError.malformed(path: path, reason: "no tokenizer.ggml.model key")
        }
        guard let tokenArray = metadata.stringArray("tokenizer.ggml.tokens") else {
            throw TokenizerError.malformed(path: path, reason: "no tokenizer.ggml.tokens array")
        }
        let tokens = tokenArray.strings
        let types = metadata.ints("tokenizer.ggml.token_type") ?? []
        guard types.isEmpty || types.count == tokens.count else {
            throw TokenizerError.malformed(
                path: path, reason: "token_type has \(types.count) entries for \(tokens.count) tokens")
        }
        switch model {
        case "llama": return try makeSentencePiece(metadata: metadata, tokens: tokens, types: types, path: path)
        case "gpt2":
            return try makeByteLevel(
                metadata: metadata, tokens: tokens, tokenArray: tokenArray, types: types, path: path)
        default: throw TokenizerError.unsupported(path: path, feature: "tokenizer.ggml.model \(model)")
        }
    }

    private static func makeSentencePiece(
        metadata: GGUFMetadata, tokens: [String], types: [Int], path: String
    ) throws -> SentencePieceTokenizer {
        let scores = metadata.floats("tokenizer.ggml.scores") ?? []
        guard scores.isEmpty || scores.count == tokens.count else {
            throw TokenizerError.malformed(
                path: path, reason: "scores has \(scores.count) entries for \(tokens.count) tokens")
        }
        var model = SentencePieceModel()
        model.modelType = .bpe
        model.pieces = tokens.indices.map { id in
            SentencePieceModel.Piece(
                text: tokens[id], score: scores.isEmpty ? 0 : Float(scores[id]),
                type: types.isEmpty ? .normal : SentencePieceModel.PieceType(rawValue: types[id]) ?? .normal)
        }
        model.byteFallback = model.pieces.contains { $0.type == .byte }
        model.addDummyPrefix = metadata.bool("tokenizer.ggml.add_space_prefix") ?? true
        model.removeExtraWhitespaces = false
        model.escapeWhitespaces = true
        model.unkID = metadata.int("tokenizer.ggml.unknown_token_id") ?? 0
        model.bosID = metadata.int("tokenizer.ggml.bos_token_id") ?? 1
        model.eosID = metadata.int("tokenizer.ggml.eos_token_id") ?? 2
        model.padID = metadata.int("tokenizer.ggml.padding_token_id") ?? -1
        return SentencePieceTokenizer(model: model, addsBOS: metadata.bool("tokenizer.ggml.add_bos_token") ?? true)
    }

    private static func makeByteLevel(
        metadata: GGUFMetadata, tokens: [String], tokenArray: GGUFMetadata.StringArray, types: [Int], path: String
    ) throws -> ByteLevelBPETokenizer {
        let preName = metadata.string("tokenizer.ggml.pre") ?? "default"
        var options = ByteLevelBPETokenizer.Options()
        switch preName {
        case "default", "gpt-2", "gpt2": options.preTokenizer = .gpt2
        case "qwen2": options.preTokenizer = .qwen2
        case "llama3", "llama-bpe", "llama-v3", "smaug-bpe", "dbrx":
            options.preTokenizer = .llama3
            options.ignoreMerges = true
        default: throw TokenizerError.unsupported(path: path, feature: "tokenizer.ggml.pre \(preName)")
        }
        options.bosTokenID = metadata.int("tokenizer.ggml.bos_token_id")
        options.eosTokenID = metadata.int("tokenizer.ggml.eos_token_id")
        options.unkTokenID = metadata.int("tokenizer.ggml.unknown_token_id")
        options.addsBOS = metadata.bool("tokenizer.ggml.add_bos_token") ?? false
        let vocab = ByteStringTable(keys: tokenArray)
        let rules = metadata.stringArray("tokenizer.ggml.merges") ?? GGUFMetadata.StringArray(bytes: [], starts: [0])
        let merges = mergeTable(rules, vocab: vocab)
        var addedTokens: [AddedToken] = []
        for (id, type) in types.enumerated() {
            switch SentencePieceModel.PieceType(rawValue: type) {
            case .control: addedTokens.append(AddedToken(id: id, content: tokens[id], isSpecial: true))
            case .userDefined: addedTokens.append(AddedToken(id: id, content: tokens[id], isSpecial: false))
            default: break
            }
        }
        return ByteLevelBPETokenizer(
            pieces: tokens, vocab: vocab, merges: merges, addedTokens: addedTokens, options: options)
    }

    /// Merge rules `"left right"`, split at the first space after the first byte
    /// (pieces of byte-level vocabularies never hold a plain space).
    static func mergeTable(_ rules: [String], vocab: ByteStringTable) -> MergeTable {
        var bytes: [UInt8] = []
        var starts = [0]
        for rule in rules {
            bytes.append(contentsOf: rule.utf8)
            starts.append(bytes.count)
        }
        return mergeTable(GGUFMetadata.StringArray(bytes: bytes, starts: starts), vocab: vocab)
    }

    static func mergeTable(_ rules: GGUFMetadata.StringArray, vocab: ByteStringTable) -> MergeTable {
        var table = MergeTable(capacity: rules.count)
        var joined = [UInt8](repeating: 0, count: 1024)
        rules.bytes.withUnsafeBufferPointer { bytes in
            rules.starts.withUnsafeBufferPointer { starts in
                joined.withUnsafeMutableBufferPointer { joined in
                    addRules(bytes, starts, vocab: vocab, scratch: joined, to: &table)
                }
            }
        }
        return table
    }

    @_optimize(speed)
    private static func addRules(
        _ bytes: UnsafeBufferPointer<UInt8>, _ starts: UnsafeBufferPointer<Int>, vocab: ByteStringTable,
        scratch: UnsafeMutableBufferPointer<UInt8>, to table: inout MergeTable
    ) {
        for rank in 0..<(starts.count - 1) {
            let start = starts[rank]
            let end = starts[rank + 1]
            var space = start + 1
            while space < end && bytes[space] != 0x20 { space += 1 }
            guard space < end - 1, end - start - 1 <= scratch.count else { continue }
            let left = UnsafeBufferPointer(rebasing: bytes[start..<space])
            let right = UnsafeBufferPointer(rebasing: bytes[(space + 1)..<end])
            for index in 0..<left.count { scratch[index] = left[index] }
            for index in 0..<right.count { scratch[left.count + index] = right[index] }
            let joined = UnsafeBufferPointer(rebasing: scratch[0..<(left.count + right.count)])
            guard let leftID = vocab.lookup(left), let rightID = vocab.lookup(right),
                let mergedID = vocab.lookup(joined)
            else { continue }
            table.insert(left: leftID, right: rightID, rank: rank, merged: mergedID)
        }
    }
}
