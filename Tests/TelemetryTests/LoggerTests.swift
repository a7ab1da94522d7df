import Synchronization
import Telemetry
import Testing

@Suite("Logger")
struct LoggerTests {
    final class Lines: Sendable {
        let storage = Mutex<[String]>([])
        var all: [String] { storage.withLock { $0 } }
    }

    @Test("text lines carry level, label, message and ordered key=value metadata")
    func textFormat() {
        let lines = Lines()
        let logger = Logger(label: "http", level: .info) { line in lines.storage.withLock { $0.append(line) } }
        logger.debug("hidden")
        logger.info("request", ["method": "GET", "path": "/a b"])
        #expect(lines.all.count == 1)
        let line = lines.all[0]
        #expect(line.hasSuffix(" info http: request method=GET path=\"/a b\"\n"))
        #expect(line.first?.isNumber == true)
    }

    @Test("JSON lines escape quotes and control characters")
    func jsonFormat() {
        let lines = Lines()
        let logger = Logger(label: "x", format: .json) { line in lines.storage.withLock { $0.append(line) } }
        logger.warning("say \"hi\"\n", ["k": "tab\there"])
        let line = lines.all[0]
        #expect(line.contains(#""level":"warning","label":"x","msg":"say \"hi\"\n","k":"tab\there"}"#))
        #expect(line.hasSuffix("}\n"))
    }

    @Test("level names parse case-insensitively")
    func levelNames() {
        #expect(LogLevel(name: "WARN") == .warning)
        #expect(LogLevel(name: "debug") == .debug)
        #expect(LogLevel(name: "loud") == nil)
        #expect(LogLevel.error > LogLevel.info)
    }
}
