import Foundation

/// A decoded JSON request body with typed, parameter-naming accessors: the boundary where untyped JSON
/// becomes the handlers' typed requests.
///
/// Parsing uses `JSONSerialization` (lenient numbers: `1`, `1.0` and `1e0` are all accepted where an
/// integer is expected if the value is integral). Every accessor returns nil for an absent key or a JSON
/// `null`, and throws `APIError.invalidParameter` naming the key for a value of the wrong type.
/// Used within one handler call only (never crosses tasks).
struct RequestBody {
    let fields: [String: Any]

    init(fields: [String: Any]) {
        self.fields = fields
    }

    /// Parses a JSON object body.
    init(bytes: [UInt8]) throws(APIError) {
        guard !bytes.isEmpty else { throw .invalidJSON("the body is empty") }
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed])
        } catch {
            throw .invalidJSON("not valid JSON")
        }
        guard let fields = object as? [String: Any] else { throw .invalidJSON("the body must be a JSON object") }
        self.fields = fields
    }

    func has(_ key: String) -> Bool { value(key) != nil }

    /// The raw value, nil for absent or `null`.
    func value(_ key: String) -> Any? {
        guard let value = fields[key], !(value is NSNull) else { return nil }
        return value
    }

    func string(_ key: String) throws(APIError) -> String? {
        guard let value = value(key) else { return nil }
        guard let text = value as? String else { throw .invalidParameter(param: key, "expected a string") }
        return text
    }

    func bool(_ key: String) throws(APIError) -> Bool? {
        guard let value = value(key) else { return nil }
        guard let flag = Self.asBool(value) else { throw .invalidParameter(param: key, "expected a boolean") }
        return flag
    }

    func int(_ key: String) throws(APIError) -> Int? {
        guard let value = value(key) else { return nil }
        guard let number = Self.asInt(value) else { throw .invalidParameter(param: key, "expected an integer") }
        return number
    }

    func double(_ key: String) throws(APIError) -> Double? {
        guard let value = value(key) else { return nil }
        guard let number = Self.asDouble(value) else { throw .invalidParameter(param: key, "expected a number") }
        return number
    }

    func object(_ key: String) throws(APIError) -> RequestBody? {
        guard let value = value(key) else { return nil }
        guard let fields = value as? [String: Any] else { throw .invalidParameter(param: key, "expected an object") }
        return RequestBody(fields: fields)
    }

    func array(_ key: String) throws(APIError) -> [Any]? {
        guard let value = value(key) else { return nil }
        guard let items = value as? [Any] else { throw .invalidParameter(param: key, "expected an array") }
        return items
    }

    /// A number within `range`, else 400 naming `key`.
    func double(_ key: String, in range: ClosedRange<Double>) throws(APIError) -> Double? {
        guard let number = try double(key) else { return nil }
        guard range.contains(number) else {
            throw .invalidParameter(
                param: key, "must be in [\(Self.format(range.lowerBound)), \(Self.format(range.upperBound))]")
        }
        return number
    }

    /// An integer within `range`, else 400 naming `key`.
    func int(_ key: String, in range: ClosedRange<Int>) throws(APIError) -> Int? {
        guard let number = try int(key) else { return nil }
        guard range.contains(number) else {
            throw .invalidParameter(param: key, "must be in [\(range.lowerBound), \(range.upperBound)]")
        }
        return number
    }

    private static func format(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : String(value)
    }

    static func isBoolNumber(_ value: Any) -> Bool {
        if type(of: value) == Bool.self { return true }
        guard let number = value as? NSNumber else { return false }
        return String(cString: number.objCType) == "c"
    }

    static func asBool(_ value: Any) -> Bool? {
        if let flag = value as? Bool, isBoolNumber(value) { return flag }
        return nil
    }

    static func asDouble(_ value: Any) -> Double? {
        guard !isBoolNumber(value), !(value is String), let number = value as? NSNumber else { return nil }
        let double = number.doubleValue
        return double.isFinite ? double : nil
    }

    static func asInt(_ value: Any) -> Int? {
        guard let double = asDouble(value), double == double.rounded(), abs(double) < 9e15 else { return nil }
        return Int(double)
    }
}
