import Foundation

/// Entry point that turns a checkpoint directory or a GGUF file into a `Tokenizer`.
///
/// A directory is read as Hugging Face ships it: a byte-level `tokenizer.json`
/// when present, otherwise the sentencepiece `tokenizer.model`, together with
/// `tokenizer_config.json` (`add_bos_token`, `bos_token`/`eos_token`,
/// `added_tokens_decoder`) when present.
public enum TokenizerLoader {
    public static func load(directory: URL) throws -> any Tokenizer {
        let jsonURL = directory.appendingPathComponent("tokenizer.json")
        let modelURL = directory.appendingPathComponent("tokenizer.model")
        let configURL = directory.appendingPathComponent("tokenizer_config.json")
        let fileManager = FileManager.default
        let config =
            fileManager.fileExists(atPath: configURL.path)
            ? try TokenizerConfig.load(contentsOf: configURL) : TokenizerConfig()
        if fileManager.fileExists(atPath: jsonURL.path) {
            let json = try HFTokenizerJSON.load(contentsOf: jsonURL)
            // A sentencepiece-style tokenizer.json (Metaspace) is read from tokenizer.model instead.
            if json.isByteLevel || !fileManager.fileExists(atPath: modelURL.path) {
                return try json.makeTokenizer(config: config)
            }
        }
        if fileManager.fileExists(atPath: modelURL.path) {
            return try loadSentencePiece(modelURL, config: config)
        }
        throw TokenizerError.noTokenizerFile(directory: directory.path)
    }

    /// Builds the tokenizer described by a GGUF file's `tokenizer.ggml.*` metadata.
    public static func load(gguf url: URL) throws -> any Tokenizer {
        try GGUFVocabulary.makeTokenizer(metadata: try GGUFMetadata.load(contentsOf: url), path: url.path)
    }

    /// Builds a sentencepiece tokenizer from `tokenizer.model` and an optional config.
    public static func loadSentencePiece(_ url: URL, config: TokenizerConfig = TokenizerConfig()) throws
        -> SentencePieceTokenizer
    {
        let model = try SentencePieceModel.load(contentsOf: url)
        guard model.modelType == .bpe else {
            throw TokenizerError.unsupported(path: url.path, feature: "sentencepiece model type \(model.modelType)")
        }
        // A precompiled normalisation charsmap (NFKC-style rules) is not applied; Llama-family
        // models ship the identity normaliser.
        let probe = SentencePieceTokenizer(model: model, addedTokens: config.addedTokens)
        return SentencePieceTokenizer(
            model: model, addsBOS: config.addBOSToken ?? true, addedTokens: config.addedTokens,
            bosTokenID: config.bosToken.flatMap { probe.id(forPiece: $0) },
            eosTokenID: config.eosToken.flatMap { probe.id(forPiece: $0) })
    }
}
