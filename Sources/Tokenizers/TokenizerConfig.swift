import Foundation

/// The parts of a Hugging Face `tokenizer_config.json` that change tokenization:
/// whether BOS is added, the BOS/EOS token text, and declared added tokens.
///
/// Every field is optional; an absent field leaves the tokenizer's own default.
public struct TokenizerConfig: Sendable {
    public var addBOSToken: Bool?
    public var addEOSToken: Bool?
    public var bosToken: String?
    public var eosToken: String?
    public var unkToken: String?
    public var padToken: String?
    /// `added_tokens_decoder`, in id order.
    public var addedTokens: [AddedToken] = []
    /// `chat_template` when it is a single string.
    public var chatTemplate: String?

    public init() {}

    /// Decodes the config object; `path` names the file in errors.
    public init(json object: [String: Any], path: String) throws {
        addBOSToken = object["add_bos_token"] as? Bool
        addEOSToken = object["add_eos_token"] as? Bool
        bosToken = Self.tokenText(object["bos_token"])
        eosToken = Self.tokenText(object["eos_token"])
        unkToken = Self.tokenText(object["unk_token"])
        padToken = Self.tokenText(object["pad_token"])
        chatTemplate = object["chat_template"] as? String
        if let decoder = object["added_tokens_decoder"] as? [String: Any] {
            for (key, value) in decoder {
                guard let id = Int(key), let entry = value as? [String: Any], let content = entry["content"] as? String
                else { throw TokenizerError.malformed(path: path, reason: "bad added_tokens_decoder entry \(key)") }
                addedTokens.append(AddedToken(id: id, content: content, isSpecial: entry["special"] as? Bool ?? false))
            }
            addedTokens.sort { $0.id < $1.id }
        }
    }

    /// A token given as a string or as an AddedToken object (`{"content": ...}`).
    static func tokenText(_ value: Any?) -> String? {
        if let string = value as? String { return string }
        return (value as? [String: Any])?["content"] as? String
    }

    public static func load(contentsOf url: URL) throws -> TokenizerConfig {
        try TokenizerConfig(json: try loadJSONObject(url), path: url.path)
    }

    /// Reads a file holding one JSON object.
    static func loadJSONObject(_ url: URL) throws -> [String: Any] {
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw TokenizerError.unreadableFile(path: url.path, reason: "\(error)")
        }
        let parsed: Any
        do {
            parsed = try JSONSerialization.jsonObject(with: data)
        } catch {
            throw TokenizerError.malformed(path: url.path, reason: "invalid JSON: \(error)")
        }
        guard let object = parsed as? [String: Any] else {
            throw TokenizerError.malformed(path: url.path, reason: "top level is not a JSON object")
        }
        return object
    }
}
