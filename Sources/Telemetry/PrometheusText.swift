/// Writes the Prometheus text exposition format, version 0.0.4, for `/metrics`
/// (https://prometheus.io/docs/instrumenting/exposition_formats/).
///
/// Owns the format's small rules: which names are valid, how HELP text and label
/// values are escaped, how a float is spelled (`+Inf`, `-Inf`, `NaN`, integral
/// values without a fraction, others in Swift's shortest round-trip form), and
/// the line shapes `# HELP`, `# TYPE` and `name{label="value",...} value`.
enum PrometheusText {
    /// Content type of a rendered registry, for the HTTP response.
    static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    /// `[a-zA-Z_:][a-zA-Z0-9_:]*` (colons are allowed, as in `pangu:num_requests_running`).
    static func isValidMetricName(_ name: String) -> Bool {
        guard let first = name.utf8.first, isNameStart(first) || first == UInt8(ascii: ":") else { return false }
        return name.utf8.allSatisfy { isNameStart($0) || isDigit($0) || $0 == UInt8(ascii: ":") }
    }

    /// `[a-zA-Z_][a-zA-Z0-9_]*`, not starting with the reserved `__`.
    static func isValidLabelName(_ name: String) -> Bool {
        guard let first = name.utf8.first, isNameStart(first), !name.hasPrefix("__") else { return false }
        return name.utf8.allSatisfy { isNameStart($0) || isDigit($0) }
    }

    /// A label value with `\`, `"` and newline escaped.
    static func escapeLabelValue(_ value: String) -> String {
        guard value.utf8.contains(where: { $0 == UInt8(ascii: "\\") || $0 == UInt8(ascii: "\"") || $0 == 10 })
        else { return value }
        var escaped = ""
        escaped.reserveCapacity(value.utf8.count + 8)
        for character in value.unicodeScalars {
            switch character {
            case "\\": escaped += "\\\\"
            case "\"": escaped += "\\\""
            case "\n": escaped += "\\n"
            default: escaped.unicodeScalars.append(character)
            }
        }
        return escaped
    }

    /// HELP text with `\` and newline escaped (quotes stay as they are).
    static func escapeHelp(_ help: String) -> String {
        var escaped = ""
        escaped.reserveCapacity(help.utf8.count)
        for character in help.unicodeScalars {
            switch character {
            case "\\": escaped += "\\\\"
            case "\n": escaped += "\\n"
            default: escaped.unicodeScalars.append(character)
            }
        }
        return escaped
    }

    /// A sample value or bucket bound as the format spells it.
    static func format(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value == .infinity { return "+Inf" }
        if value == -.infinity { return "-Inf" }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return "\(value)"
    }

    /// The `# HELP` and `# TYPE` lines of a family.
    static func writeHeader(name: String, help: String, type: MetricType, into output: inout String) {
        output += "# HELP \(name) \(escapeHelp(help))\n# TYPE \(name) \(type.rawValue)\n"
    }

    /// One sample line: `name{a="x",le="0.5"} value`; braces only when there are labels.
    static func writeSample(
        name: String, labelNames: [String], labelValues: [String], extraLabel: (name: String, value: String)? = nil,
        value: Double, into output: inout String
    ) {
        output += name
        if !labelNames.isEmpty || extraLabel != nil {
            output += "{"
            var first = true
            for (labelName, labelValue) in zip(labelNames, labelValues) {
                output += first ? "" : ","
                output += "\(labelName)=\"\(escapeLabelValue(labelValue))\""
                first = false
            }
            if let extraLabel {
                output += first ? "" : ","
                output += "\(extraLabel.name)=\"\(escapeLabelValue(extraLabel.value))\""
            }
            output += "}"
        }
        output += " \(format(value))\n"
    }

    private static func isNameStart(_ byte: UInt8) -> Bool {
        (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z"))
            || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
            || byte == UInt8(ascii: "_")
    }

    private static func isDigit(_ byte: UInt8) -> Bool {
        byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
    }
}
