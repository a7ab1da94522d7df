import Dispatch
import Foundation

/// Waits for SIGTERM or SIGINT, the daemon's signal to drain and exit.
enum StopSignal {
    /// Suspends until the first stop signal and returns its name.
    static func wait() async -> String {
        await withCheckedContinuation { (continuation: CheckedContinuation<String, Never>) in
            let once = Once(continuation)
            for (number, name) in [(SIGTERM, "SIGTERM"), (SIGINT, "SIGINT")] {
                signal(number, SIG_IGN)
                let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
                source.setEventHandler { once.resume(name) }
                source.resume()
                once.keep(source)
            }
        }
    }

    /// Resumes the continuation exactly once and keeps the signal sources alive.
    private final class Once: @unchecked Sendable {
        private let lock = NSLock()
        private var continuation: CheckedContinuation<String, Never>?
        private var sources: [any DispatchSourceSignal] = []

        init(_ continuation: CheckedContinuation<String, Never>) { self.continuation = continuation }

        func keep(_ source: any DispatchSourceSignal) {
            lock.withLock { sources.append(source) }
        }

        func resume(_ name: String) {
            let c = lock.withLock { () -> CheckedContinuation<String, Never>? in
                defer { continuation = nil }
                return continuation
            }
            c?.resume(returning: name)
        }
    }
}
