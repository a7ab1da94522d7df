import HTTP1

/// Knobs of the HTTP front door: listening address, event loops, connection limits, timeouts and TLS.
///
/// Every field has a documented default and unit. Timeouts are `Duration`s checked by each event loop's
/// timer tick, so they are enforced with a resolution of about a quarter of the shortest timeout
/// (never coarser than 250 ms).
public struct HTTPServerConfig: Sendable {
    /// Address to bind: an IPv4 or IPv6 literal (`0.0.0.0`, `::`, `::1`) or a host name. `::` also accepts
    /// IPv4 clients on Linux unless `net.ipv6.bindv6only` is set. Default `127.0.0.1`.
    public var host: String = "127.0.0.1"
    /// TCP port; 0 binds an ephemeral port, reported by `HTTPServer.boundPort`. Default 8000.
    public var port: Int = 8000
    /// Listen backlog (pending connections, capped by the kernel's `somaxconn`). Default 511.
    public var backlog: Int = 511
    /// Number of event-loop threads accepting and serving connections. Default 1.
    public var numEventLoops: Int = 1
    /// Maximum simultaneously open client connections; beyond it a connection gets `503` and is closed
    /// (on a TLS listener it is closed without an answer).
    /// Default 10000.
    public var maxConnections: Int = 10_000
    /// Time allowed from the first byte of a request head to its blank line (slowloris defence). Default 10 s.
    public var headReadTimeout: Duration = .seconds(10)
    /// Longest pause between two reads of a request body. Default 30 s.
    public var bodyReadTimeout: Duration = .seconds(30)
    /// How long a keep-alive connection may sit idle between requests. Default 60 s.
    public var idleTimeout: Duration = .seconds(60)
    /// Longest time pending response bytes may make no progress (a client that stopped reading). Default 30 s.
    public var writeTimeout: Duration = .seconds(30)
    /// Bound on response bytes buffered in user space per connection; a streaming `write` suspends while
    /// the buffer is over it. Default 262144 bytes (256 KiB).
    public var maxWriteBufferBytes: Int = 256 * 1024
    /// Parser limits (header bytes and count, URI length, body bytes).
    public var limits: HTTPLimits = .default
    /// PEM certificate chain; with `tlsKeyFile` the listener speaks TLS 1.2/1.3 only. Default nil (plain HTTP).
    public var tlsCertFile: String?
    /// PEM private key matching `tlsCertFile`. Default nil.
    public var tlsKeyFile: String?
    /// Disable Nagle's algorithm on client sockets (lower latency for small streamed chunks). Default true.
    public var enableTCPNoDelay: Bool = true

    public init() {}

    /// Whether TLS is configured (both files given).
    public var enableTLS: Bool { tlsCertFile != nil && tlsKeyFile != nil }
}
