import Foundation

/// Builds a tokenizer from the `tokenizer.ggml.*` metadata of a GGUF file:
/// `llama` vocabularies become a `SentencePieceTokenizer`, `gpt2` vocabularies a
/// `ByteLevelBPETokenizer` with the pre-tokenizer named by `tokenizer.ggml.pre`.
enum GGUFVocabulary {
    static func makeTokenizer(metadata: GGUFMetadata, path: String) throws -> any Tokenizer {
        guard let model = metadata.string("tokenizer.ggml.model") else {
            throw TokenizerError.malformed(path: path, reason: "no tokenizer.ggml.model key")
        }
        guard let tokens = metadata.strings("tokenizer.ggml.tokens") else {
            throw TokenizerError.malformed(path: path, reason: "no tokenizer.ggml.tokens array")
        }
        let types = metadata.ints("tokenizer.ggml.token_type") ?? []
        guard types.isEmpty || types.count == tokens.count else {
            throw TokenizerError.malformed(path: path, reason: "token_type has \(types.count) entries for \(tokens.count) tokens")
        }
        switch model {
        case "llama": return try makeSentencePiece(metadata: metadata, tokens: tokens, types: types, path: path)
        case "gpt2": return try makeByteLevel(metadata: metadata, tokens: tokens, types: types, path: path)
        default: throw TokenizerError.unsupported(path: path, feature: "tokenizer.ggml.model \(model)")
        }
    }

    private static func makeSentencePiece(
        metadata: GGUFMetadata, tokens: [String], types: [Int], path: String
    ) throws -> SentencePieceTokenizer {
        let scores = metadata.floats("tokenizer.ggml.scores") ?? []
        guard scores.isEmpty || scores.count == tokens.count else {
            throw TokenizerError.malformed(path: path, reason: "scores has \(scores.count) entries for \(tokens.count) tokens")
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
        metadata: GGUFMetadata, tokens: [String], types: [Int], path: String
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
        var vocab = ByteStringTable(capacity: tokens.count)
        for (id, token) in tokens.enumerated() { vocab.insert(token.utf8, id: id) }
        let merges = mergeTable(metadata.strings("tokenizer.ggml.merges") ?? [], vocab: vocab)
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

    /// Merge rules `"left right"` (split at the first space after the first byte)
    /// as (left id << 32 | right id) -> (rank << 32 | merged id).
    static func mergeTable(_ rules: [String], vocab: ByteStringTable) -> [UInt64: UInt64] {
        var table: [UInt64: UInt64] = [:]
        table.reserveCapacity(rules.count)
        var joined: [UInt8] = []
        for (rank, rule) in rules.enumerated() {
            let bytes = Array(rule.utf8)
            guard bytes.count >= 3, let space = bytes[1...].firstIndex(of: 0x20) else { continue }
            joined.removeAll(keepingCapacity: true)
            joined.append(contentsOf: bytes[..<space])
            joined.append(contentsOf: bytes[(space + 1)...])
            guard let left = vocab.lookup(bytes[..<space]), let right = vocab.lookup(bytes[(space + 1)...]),
                let merged = vocab.lookup(joined)
            else { continue }
            let key = UInt64(left) << 32 | UInt64(right)
            if table[key] == nil { table[key] = UInt64(rank) << 32 | UInt64(merged) }
        }
        return table
    }
}
