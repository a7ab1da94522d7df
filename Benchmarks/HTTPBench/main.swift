import Foundation
import HTTP1
import HTTPServer
import Telemetry

// HTTP front-door benchmark server: serves a fixed tiny response so that `wrk` measures the event loop,
// parser, router and encoder rather than any handler work. See docs/http-benchmark.md.
//
// Usage: http-bench [--port 8080] [--loops 1] [--host 127.0.0.1] [--seconds 0]
//   --seconds N stops after N seconds (0 = run until killed). Prints the bound port and, every 5 s,
//   the resident memory and open-connection count.
#if canImport(Glibc)
    import Glibc
#endif

func argument(_ name: String, default value: String) -> String {
    let arguments = CommandLine.arguments
    guard let index = arguments.firstIndex(of: name), index + 1 < arguments.count else { return value }
    return arguments[index + 1]
}

func residentKiB() -> Int {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
    for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
        return Int(line.split(separator: " ")[1]) ?? 0
    }
    return 0
}

var config = HTTPServerConfig()
config.host = argument("--host", default: "127.0.0.1")
config.port = Int(argument("--port", default: "8080")) ?? 8080
config.numEventLoops = Int(argument("--loops", default: "1")) ?? 1
config.backlog = 4096
config.maxConnections = 20_000
config.idleTimeout = .seconds(300)
let seconds = Int(argument("--seconds", default: "0")) ?? 0

let body = Array("hello, world\n".utf8)
let router = Router()
router.add(.get, "/") { _ in
    HTTPResponse(status: .ok, headers: ["Content-Type": "text/plain"], body: body)
}
let server = HTTPServer(config: config, router: router, logger: Logger(label: "bench", level: .warning))
try server.start()
print("listening on port \(server.boundPort) with \(config.numEventLoops) loop(s); rss \(residentKiB()) KiB")
fflush(nil)
var elapsed = 0
while seconds == 0 || elapsed < seconds {
    sleep(5)
    elapsed += 5
    print("t=\(elapsed)s rss=\(residentKiB()) KiB open=\(server.numOpenConnections)")
    fflush(nil)
}
