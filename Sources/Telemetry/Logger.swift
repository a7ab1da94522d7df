import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Severity of a log line; lines below a logger's level are dropped before formatting.
public enum LogLevel: Int, Sendable, Comparable, CaseIterable {
    case trace = 0
    case debug
    case info
    case warning
    case error

    /// Lower-case name used in both output formats (`info`, `warning`, ...).
    public var name: String {
        switch self {
        case .trace: "trace"
        case .debug: "debug"
        case .info: "info"
        case .warning: "warning"
        case .error: "error"
        }
    }

    /// Parses a level name as written on the command line (`info`, `WARN`, `warning`...).
    public init?(name: String) {
        switch name.lowercased() {
        case "trace": self = .trace
        case "debug": self = .debug
        case "info": self = .info
        case "warn", "warning": self = .warning
        case "error": self = .error
        default: return nil
        }
    }

    public static func < (lhs: LogLevel, rhs: LogLevel) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// Shape of one log line: human-readable `key=value` text or one JSON object per line.
public enum LogFormat: String, Sendable, CaseIterable {
    case text
    case json
}

/// Structured, thread-safe line logger used by every module for operational messages and access logs.
///
/// Each call produces exactly one line (`\n`-terminated) written atomically to the sink, which is
/// standard error by default. Metadata is an ordered list of key/value pairs so that lines are stable
/// and greppable. Text lines look like `2026-01-01T00:00:00.000Z info http: message key=value`; JSON lines
/// are `{"ts":...,"level":...,"label":...,"msg":...,"key":"value"}`.
public final class Logger: Sendable {
    /// Receives each fully formatted line, newline included.
    public typealias Sink = @Sendable (String) -> Void

    /// Component name printed with each line (e.g. `http`, `engine`).
    public let label: String
    /// Lines below this level are discarded.
    public let level: LogLevel
    /// Output format of every line.
    public let format: LogFormat
    private let sink: Sink
    private let writeLock = Mutex<Void>(())

    /// Creates a logger; `sink` defaults to standard error (tests pass a capturing closure).
    public init(label: String, level: LogLevel = .info, format: LogFormat = .text, sink: Sink? = nil) {
        self.label = label
        self.level = level
        self.format = format
        self.sink = sink ?? Logger.standardErrorSink
    }

    /// Returns a logger with the same level, format and sink under another label.
    public func withLabel(_ label: String) -> Logger {
        Logger(label: label, level: level, format: format, sink: sink)
    }

    /// Whether a line at `level` would be written (use to skip building expensive metadata).
    public func isEnabled(_ level: LogLevel) -> Bool { level >= self.level }

    /// Writes one line at `level` with ordered `metadata` pairs.
    public func log(_ level: LogLevel, _ message: String, _ metadata: KeyValuePairs<String, String> = [:]) {
        guard isEnabled(level) else { return }
        let line = render(level: level, message: message, metadata: Array(metadata))
        writeLock.withLock { _ in sink(line) }
    }

    /// Writes one line with metadata given as an array (for callers that build it dynamically).
    public func log(_ level: LogLevel, _ message: String, metadata: [(String, String)]) {
        guard isEnabled(level) else { return }
        let line = render(level: level, message: message, metadata: metadata)
        writeLock.withLock { _ in sink(line) }
    }

    public func trace(_ message: String, _ metadata: KeyValuePairs<String, String> = [:]) {
        log(.trace, message, metadata: Array(metadata))
    }
    public func debug(_ message: String, _ metadata: KeyValuePairs<String, String> = [:]) {
        log(.debug, message, metadata: Array(metadata))
    }
    public func info(_ message: String, _ metadata: KeyValuePairs<String, String> = [:]) {
        log(.info, message, metadata: Array(metadata))
    }
    public func warning(_ message: String, _ metadata: KeyValuePairs<String, String> = [:]) {
        log(.warning, message, metadata: Array(metadata))
    }
    public func error(_ message: String, _ metadata: KeyValuePairs<String, String> = [:]) {
        log(.error, message, metadata: Array(metadata))
    }

    private func render(level: LogLevel, message: String, metadata: [(String, String)]) -> String {
        let timestamp = Logger.timestamp()
        switch format {
        case .text:
            var line = "\(timestamp) \(level.name) \(label): \(message)"
            for (key, value) in metadata {
                line += " \(key)=\(Logger.quoteIfNeeded(value))"
            }
            return line + "\n"
        case .json:
            var line = "{\"ts\":\"\(timestamp)\",\"level\":\"\(level.name)\""
            line += ",\"label\":\(Logger.jsonString(label)),\"msg\":\(Logger.jsonString(message))"
            for (key, value) in metadata {
                line += ",\(Logger.jsonString(key)):\(Logger.jsonString(value))"
            }
            return line + "}\n"
        }
    }

    private static let standardErrorSink: Sink = { line in
        var bytes = Array(line.utf8)
        bytes.withUnsafeMutableBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = write(2, buffer.baseAddress.map { $0 + offset }, buffer.count - offset)
                if written <= 0 { return }
                offset += written
            }
        }
    }

    /// UTC ISO-8601 timestamp with milliseconds.
    static func timestamp() -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        var seconds = now.tv_sec
        var parts = tm()
        gmtime_r(&seconds, &parts)
        let millis = Int(now.tv_nsec / 1_000_000)
        func pad(_ value: Int32, _ width: Int) -> String {
            let digits = String(value)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        return "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2))"
            + "T\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2))"
            + ".\(pad(Int32(millis), 3))Z"
    }

    static func quoteIfNeeded(_ value: String) -> String {
        let needsQuotes = value.isEmpty || value.contains { $0 == " " || $0 == "\"" || $0 == "=" || $0.isNewline }
        return needsQuotes ? jsonString(value) : value
    }

    /// Encodes `value` as a JSON string literal (quotes included).
    public static func jsonString(_ value: String) -> String {
        var out = "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}
