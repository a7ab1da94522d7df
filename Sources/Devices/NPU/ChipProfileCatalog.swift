import Foundation

/// The set of chip profiles the server knows, loaded at start from a
/// directory of JSON files (`Config/devices`) plus any a user adds; the NPU
/// worker and the capacity planner look chips up here by name.
///
/// Invariants: names are unique ignoring case; every profile passed
/// `ChipProfile.validate`. Lookup ignores case and an "Ascend" prefix, so
/// "ascend910b2" finds "910B2".
public struct ChipProfileCatalog: Sendable {
    private var profilesByKey: [String: ChipProfile] = [:]

    /// An empty catalog.
    public init() {}

    /// A catalog of `profiles`; throws on an invalid or duplicate profile.
    public init(profiles: [ChipProfile]) throws {
        for profile in profiles { try add(profile) }
    }

    /// Loads every `*.json` file of `directory` (sorted by name); throws
    /// `NPUError.invalidProfile` naming the first broken file.
    public static func load(directory: URL) throws -> ChipProfileCatalog {
        let files: [URL]
        do {
            files = try FileManager.default.contentsOfDirectory(
                at: directory, includingPropertiesForKeys: nil
            ).filter { $0.pathExtension == "json" }.sorted { $0.lastPathComponent < $1.lastPathComponent }
        } catch {
            throw NPUError.invalidProfile(source: directory.path, reason: "cannot list directory: \(error)")
        }
        var catalog = ChipProfileCatalog()
        for file in files { try catalog.add(contentsOf: file) }
        return catalog
    }

    /// Decodes one profile from JSON bytes; `source` names it in errors.
    public static func decodeProfile(_ data: Data, source: String) throws -> ChipProfile {
        let profile: ChipProfile
        do {
            profile = try JSONDecoder().decode(ChipProfile.self, from: data)
        } catch let error as DecodingError {
            throw NPUError.invalidProfile(source: source, reason: Self.explain(error))
        } catch {
            throw NPUError.invalidProfile(source: source, reason: "\(error)")
        }
        try profile.validate(source: source)
        return profile
    }

    /// Adds the profile in the JSON file at `url`.
    public mutating func add(contentsOf url: URL) throws {
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw NPUError.invalidProfile(source: url.path, reason: "cannot read file: \(error)")
        }
        try add(Self.decodeProfile(data, source: url.path))
    }

    /// Adds `profile`; with `replacing` false a name already present throws
    /// `NPUError.duplicateProfile`, with true the new profile wins.
    public mutating func add(_ profile: ChipProfile, replacing: Bool = false) throws {
        try profile.validate(source: profile.name)
        let key = Self.key(profile.name)
        if !replacing, profilesByKey[key] != nil { throw NPUError.duplicateProfile(name: profile.name) }
        profilesByKey[key] = profile
    }

    /// Profile names, sorted.
    public var names: [String] { profilesByKey.values.map(\.name).sorted() }

    /// Number of profiles.
    public var count: Int { profilesByKey.count }

    /// The profile called `name`; throws `NPUError.unknownChip` listing the
    /// known names.
    public func profile(named name: String) throws -> ChipProfile {
        guard let profile = profilesByKey[Self.key(name)] else {
            throw NPUError.unknownChip(name: name, known: names)
        }
        return profile
    }

    /// Lookup key: lower case, without a leading "ascend" and spaces.
    static func key(_ name: String) -> String {
        var key = name.lowercased().replacingOccurrences(of: " ", with: "")
        if key.hasPrefix("ascend") { key.removeFirst("ascend".count) }
        return key
    }

    /// A one-line reason for a JSON decoding failure (missing key, wrong type).
    static func explain(_ error: DecodingError) -> String {
        func path(_ context: DecodingError.Context) -> String {
            context.codingPath.map(\.stringValue).joined(separator: ".")
        }
        switch error {
        case .keyNotFound(let key, let context):
            let parent = path(context)
            return "missing key '\(parent.isEmpty ? key.stringValue : parent + "." + key.stringValue)'"
        case .typeMismatch(_, let context), .valueNotFound(_, let context):
            return "wrong type at '\(path(context))': \(context.debugDescription)"
        case .dataCorrupted(let context):
            return "malformed JSON at '\(path(context))': \(context.debugDescription)"
        @unknown default:
            return "\(error)"
        }
    }
}
