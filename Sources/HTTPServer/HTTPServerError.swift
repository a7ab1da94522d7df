/// Failures of the server module: setup errors thrown by `start()` and I/O errors seen by handlers.
public enum HTTPServerError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Resolving, binding or listening on the configured address failed (`errno` given).
    case bindFailed(host: String, port: Int, errno: Int32)
    /// A system call needed by the event loop failed.
    case systemCallFailed(String, errno: Int32)
    /// The TLS certificate or key could not be loaded.
    case tlsSetupFailed(String)
    /// The peer went away (or the connection was closed by a timeout or shutdown) before the response ended.
    case connectionClosed
    /// A response method was called out of order (e.g. `write` before `writeHead`, or after `finish`).
    case invalidResponseState(String)
    /// More body bytes were written than the `Content-Length` the handler declared.
    case contentLengthExceeded(declared: Int)
    /// `start()` was called twice, or after shutdown.
    case alreadyStarted

    public var description: String {
        switch self {
        case .bindFailed(let host, let port, let errno): "cannot listen on \(host):\(port) (errno \(errno))"
        case .systemCallFailed(let call, let errno): "\(call) failed (errno \(errno))"
        case .tlsSetupFailed(let reason): "TLS setup failed: \(reason)"
        case .connectionClosed: "connection closed"
        case .invalidResponseState(let reason): "invalid response state: \(reason)"
        case .contentLengthExceeded(let declared): "body exceeds the declared Content-Length \(declared)"
        case .alreadyStarted: "server already started"
        }
    }
}
