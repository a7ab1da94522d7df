import Foundation

/// One command-line option: the single table that parses flags, reads
/// `PANGU_SERVE_*` variables and JSON config keys, and generates `--help`.
struct OptionSpec: Sendable {
    /// Property name, e.g. `maxNumSeqs`; the flag is its kebab-case (`--max-num-seqs`).
    let name: String
    let help: String
    /// Unit shown in `--help` (e.g. "tokens", "bytes"); empty for none.
    var unit: String = ""
    /// Default value, also shown in `--help`; nil for none.
    var defaultValue: String? = nil
    /// What `--help` says when the default is computed rather than a literal (e.g. "all cores").
    var defaultDescription: String? = nil
    /// A switch: `--flag` alone means true.
    var isSwitch: Bool = false

    var flag: String { "--" + OptionSpec.kebab(name) }
    var environmentVariable: String {
        "PANGU_SERVE_" + OptionSpec.kebab(name).replacingOccurrences(of: "-", with: "_").uppercased()
    }

    static func kebab(_ camel: String) -> String {
        var out = ""
        for ch in camel {
            if ch.isUppercase {
                out += "-" + ch.lowercased()
            } else {
                out.append(ch)
            }
        }
        return out
    }
}

/// Option values resolved with precedence flags > environment > config file > defaults.
struct OptionValues {
    private(set) var values: [String: String] = [:]
    let specs: [OptionSpec]

    /// Parses `arguments` (after the subcommand) against `specs`.
    init(
        arguments: [String], specs: [OptionSpec], environment: [String: String] = [:], configFile: [String: Any] = [:]
    ) throws(CLIError) {
        self.specs = specs
        for spec in specs {
            if let value = spec.defaultValue { values[spec.name] = value }
            if let value = configFile[spec.name] { values[spec.name] = Self.string(from: value) }
            if let value = environment[spec.environmentVariable] { values[spec.name] = value }
        }
        let byFlag = Dictionary(uniqueKeysWithValues: specs.map { ($0.flag, $0) })
        var i = 0
        while i < arguments.count {
            let argument = arguments[i]
            let parts = argument.split(separator: "=", maxSplits: 1).map(String.init)
            guard let spec = byFlag[parts[0]] else { throw CLIError("unknown option \(parts[0]) (see --help)") }
            if parts.count == 2 {
                values[spec.name] = parts[1]
            } else if spec.isSwitch {
                values[spec.name] = "true"
            } else {
                guard i + 1 < arguments.count else { throw CLIError("\(spec.flag) needs a value") }
                i += 1
                values[spec.name] = arguments[i]
            }
            i += 1
        }
        for name in configFile.keys where !specs.contains(where: { $0.name == name }) {
            throw CLIError("unknown key \"\(name)\" in the config file")
        }
    }

    private static func string(from value: Any) -> String {
        // JSON numbers and booleans both arrive as NSNumber, and 0 and 1 bridge to Bool too: only a number
        // whose type is a C char came from true or false.
        if let number = value as? NSNumber {
            return String(cString: number.objCType) == "c" ? (number.boolValue ? "true" : "false") : "\(number)"
        }
        if let a = value as? [Any] { return a.map { "\($0)" }.joined(separator: ",") }
        return "\(value)"
    }

    private func spec(_ name: String) -> OptionSpec {
        guard let spec = specs.first(where: { $0.name == name }) else { preconditionFailure("no option \(name)") }
        return spec
    }

    func string(_ name: String) -> String? { values[name].flatMap { $0.isEmpty ? nil : $0 } }

    func int(_ name: String) throws(CLIError) -> Int? {
        guard let raw = string(name) else { return nil }
        guard let v = Int(raw) else {
            throw CLIError("invalid value for \(spec(name).flag): '\(raw)' is not an integer")
        }
        return v
    }

    func double(_ name: String) throws(CLIError) -> Double? {
        guard let raw = string(name) else { return nil }
        guard let v = Double(raw), v.isFinite else {
            throw CLIError("invalid value for \(spec(name).flag): '\(raw)' is not a number")
        }
        return v
    }

    func bool(_ name: String) throws(CLIError) -> Bool {
        switch string(name)?.lowercased() {
        case nil, "false", "0", "no": return false
        case "true", "1", "yes": return true
        case let raw?: throw CLIError("invalid value for \(spec(name).flag): '\(raw)' is not true or false")
        }
    }

    /// `--help` text: one line per option with unit and default.
    static func help(usage: String, specs: [OptionSpec], showEnvironment: Bool = false) -> String {
        var lines = [usage, "", "Options:"]
        for spec in specs {
            var left = "  " + spec.flag + (spec.isSwitch ? "" : " <\(spec.unit.isEmpty ? "value" : spec.unit)>")
            left = left.padding(toLength: max(left.count, 36), withPad: " ", startingAt: 0)
            var right = spec.help
            if let d = spec.defaultDescription ?? spec.defaultValue, !d.isEmpty { right += " [default: \(d)]" }
            lines.append(left + " " + right + (showEnvironment ? "  (env \(spec.environmentVariable))" : ""))
        }
        return lines.joined(separator: "\n")
    }
}
