import Foundation

/// Reads a Hugging Face `tokenizer.json` whose model is byte-level BPE and builds
/// a `ByteLevelBPETokenizer` from it.
///
/// Understood: `model` (type BPE: `vocab`, `merges` as `"a b"` strings or pairs,
/// `ignore_merges`, `unk_token`), `added_tokens`, a `ByteLevel` pre-tokenizer
/// (alone, or after a `Split` whose regex is one `PreTokenizer` knows), an `NFC`
/// normaliser, and a `TemplateProcessing` post-processor that prepends a BOS token.
struct HFTokenizerJSON {
    let path: String
    var pieces: [String] = []
    var mergeRules: [String] = []
    var addedTokens: [AddedToken] = []
    var options = ByteLevelBPETokenizer.Options()
    var isByteLevel = false
    /// Text of the token the post-processor puts before every sequence.
    var templateBOS: String?
    var unkToken: String?

    static func load(contentsOf url: URL) throws -> HFTokenizerJSON {
        try HFTokenizerJSON(json: try TokenizerConfig.loadJSONObject(url), path: url.path)
    }

    init(json: [String: Any], path: String) throws {
        self.path = path
        guard let model = json["model"] as? [String: Any], (model["type"] as? String ?? "BPE") == "BPE" else {
            throw TokenizerError.unsupported(path: path, feature: "tokenizer.json model type (only BPE)")
        }
        try readModel(model)
        for entry in json["added_tokens"] as? [[String: Any]] ?? [] {
            guard let id = entry["id"] as? Int, let content = entry["content"] as? String else {
                throw TokenizerError.malformed(path: path, reason: "added_tokens entry without id/content")
            }
            addedTokens.append(AddedToken(id: id, content: content, isSpecial: entry["special"] as? Bool ?? false))
        }
        let preTokenizer = json["pre_tokenizer"] as? [String: Any]
        let decoder = json["decoder"] as? [String: Any]
        isByteLevel =
            Self.contains(type: "ByteLevel", in: preTokenizer) || Self.contains(type: "ByteLevel", in: decoder)
        if isByteLevel { try readPreTokenizer(preTokenizer) }
        options.normalizeNFC = Self.contains(type: "NFC", in: json["normalizer"] as? [String: Any])
        templateBOS = Self.templateBOS(json["post_processor"] as? [String: Any])
    }

    private mutating func readModel(_ model: [String: Any]) throws {
        guard let vocab = model["vocab"] as? [String: Any] else {
            throw TokenizerError.malformed(path: path, reason: "model.vocab missing")
        }
        var numPieces = 0
        for case let id as Int in vocab.values { numPieces = max(numPieces, id + 1) }
        pieces = Array(repeating: "", count: numPieces)
        for (piece, value) in vocab {
            guard let id = value as? Int, id >= 0 else {
                throw TokenizerError.malformed(path: path, reason: "vocab id of \(piece) is not an integer")
            }
            pieces[id] = piece
        }
        for rule in model["merges"] as? [Any] ?? [] {
            if let string = rule as? String {
                mergeRules.append(string)
            } else if let pair = rule as? [String], pair.count == 2 {
                mergeRules.append(pair[0] + " " + pair[1])
            } else {
                throw TokenizerError.malformed(path: path, reason: "merge rule \(rule) is neither \"a b\" nor [a, b]")
            }
        }
        options.ignoreMerges = model["ignore_merges"] as? Bool ?? false
        unkToken = model["unk_token"] as? String
    }

    private mutating func readPreTokenizer(_ preTokenizer: [String: Any]?) throws {
        let steps = (preTokenizer?["pretokenizers"] as? [[String: Any]]) ?? (preTokenizer.map { [$0] } ?? [])
        var kind: PreTokenizer?
        for step in steps {
            switch step["type"] as? String {
            case "Split":
                let pattern = (step["pattern"] as? [String: Any])?["Regex"] as? String ?? ""
                guard let known = Self.preTokenizer(forPattern: pattern) else {
                    throw TokenizerError.unsupported(path: path, feature: "pre-tokenizer regex \(pattern)")
                }
                kind = known
            case "ByteLevel":
                options.addPrefixSpace = step["add_prefix_space"] as? Bool ?? false
                if step["use_regex"] as? Bool ?? true { kind = kind ?? .gpt2 }
            default:
                throw TokenizerError.unsupported(path: path, feature: "pre-tokenizer \(step["type"] ?? "?")")
            }
        }
        options.preTokenizer = kind ?? .gpt2
    }

    /// The `PreTokenizer` implementing a published split regex.
    static func preTokenizer(forPattern pattern: String) -> PreTokenizer? {
        let contractionsI = "(?i:'s|'t|'re|'ve|'m|'ll|'d)"
        let contractionsX = "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])"
        let tail = #"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#
        let letters = #"|[^\r\n\p{L}\p{N}]?\p{L}+"#
        var known: [String: PreTokenizer] = [
            #"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"#: .gpt2
        ]
        for contractions in [contractionsI, contractionsX] {
            known[contractions + letters + #"|\p{N}{1,3}"# + tail] = .llama3
            known[contractions + letters + #"|\p{N}"# + tail] = .qwen2
        }
        return known[pattern]
    }

    static func contains(type: String, in component: [String: Any]?) -> Bool {
        guard let component else { return false }
        if component["type"] as? String == type { return true }
        for key in ["pretokenizers", "normalizers", "decoders", "processors"] {
            for child in component[key] as? [[String: Any]] ?? [] where contains(type: type, in: child) { return true }
        }
        return false
    }

    /// The special token a `TemplateProcessing` post-processor puts first in `single`.
    static func templateBOS(_ processor: [String: Any]?) -> String? {
        guard let processor else { return nil }
        if processor["type"] as? String == "Sequence" {
            for child in processor["processors"] as? [[String: Any]] ?? [] {
                if let bos = templateBOS(child) { return bos }
            }
            return nil
        }
        guard processor["type"] as? String == "TemplateProcessing",
            let first = (processor["single"] as? [[String: Any]])?.first,
            let special = first["SpecialToken"] as? [String: Any]
        else { return nil }
        return special["id"] as? String
    }

    /// Builds the tokenizer; `config` (tokenizer_config.json) overrides BOS/EOS choices.
    func makeTokenizer(config: TokenizerConfig) throws -> ByteLevelBPETokenizer {
        guard isByteLevel else {
            throw TokenizerError.unsupported(
                path: path, feature: "non-byte-level tokenizer.json without tokenizer.model")
        }
        var allAdded = addedTokens
        let knownIDs = Set(addedTokens.map(\.id))
        allAdded += config.addedTokens.filter { !knownIDs.contains($0.id) }
        let pieces = ByteLevelBPETokenizer.pieces(self.pieces, with: allAdded)
        let vocab = ByteStringTable(pieces)
        var options = self.options
        options.unkTokenID = unkToken.flatMap { vocab.lookup($0) }
        let bosText = config.bosToken ?? templateBOS
        options.bosTokenID = bosText.flatMap { vocab.lookup($0) }
        options.eosTokenID = config.eosToken.flatMap { vocab.lookup($0) }
        options.addsBOS = config.addBOSToken ?? (templateBOS != nil)
        return ByteLevelBPETokenizer(
            pieces: pieces, vocab: vocab, merges: GGUFVocabulary.mergeTable(mergeRules, vocab: vocab),
            addedTokens: allAdded, options: options)
    }
}
