import Telemetry

/// An ordered JSON value built by the handlers and encoded to response bytes: the only way this module
/// writes JSON, so key order is stable and non-finite numbers never reach the wire.
///
/// Invariant: `encoded` is valid JSON. Non-finite doubles are clamped (`-inf` → `-9999.0`, `+inf` →
/// `9999.0`, NaN → `null`), because OpenAI clients parse logprobs as finite numbers.
indirect enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case array([JSONValue])
    /// Keys in insertion order.
    case object([(String, JSONValue)])

    /// The finite stand-in for a log-probability of minus infinity.
    static let negativeInfinityLogprob = -9999.0

    static func == (lhs: JSONValue, rhs: JSONValue) -> Bool {
        lhs.encoded == rhs.encoded
    }

    /// Compact JSON text.
    var encoded: String {
        var out = ""
        write(into: &out)
        return out
    }

    /// Compact JSON as UTF-8 bytes.
    var bytes: [UInt8] { Array(encoded.utf8) }

    func write(into out: inout String) {
        switch self {
        case .null: out += "null"
        case .bool(let value): out += value ? "true" : "false"
        case .int(let value): out += String(value)
        case .double(let value): out += JSONValue.format(value)
        case .string(let value): JSONValue.writeString(value, into: &out)
        case .array(let items):
            out += "["
            for (index, item) in items.enumerated() {
                if index > 0 { out += "," }
                item.write(into: &out)
            }
            out += "]"
        case .object(let fields):
            out += "{"
            for (index, (key, value)) in fields.enumerated() {
                if index > 0 { out += "," }
                JSONValue.writeString(key, into: &out)
                out += ":"
                value.write(into: &out)
            }
            out += "}"
        }
    }

    /// A JSON number for `value`; non-finite values become the clamped stand-ins (NaN → `null`).
    static func format(_ value: Double) -> String {
        if value.isNaN { return "null" }
        if value == -.infinity { return String(negativeInfinityLogprob) }
        if value == .infinity { return String(-negativeInfinityLogprob) }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int(value)) + ".0" }
        return String(value)
    }

    static func writeString(_ value: String, into out: inout String) {
        out += Logger.jsonString(value)
    }
}

extension JSONValue {
    /// `.string`, or `.null` for nil.
    static func string(_ value: String?) -> JSONValue { value.map { .string($0) } ?? .null }

    /// A number from a log-probability (clamped when infinite).
    static func logprob(_ value: Float) -> JSONValue { .double(Double(value)) }

    /// An array of UTF-8 byte values (`bytes` of chat logprobs).
    static func utf8Bytes(_ text: String) -> JSONValue { .array(text.utf8.map { .int(Int($0)) }) }
}
