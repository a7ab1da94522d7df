/// Size limits the request parser enforces so that a hostile client cannot make the server buffer without bound.
///
/// Each limit maps to the status the server answers when it is exceeded.
public struct HTTPLimits: Sendable, Hashable {
    /// Maximum bytes of a request head (request line + header lines + blank line), and separately of a
    /// chunked body's trailer section. Default 16384 bytes. Exceeding it answers 431.
    public var maxHeaderBytes: Int
    /// Maximum number of header fields in a head (and of trailer fields). Default 100. Exceeding it answers 431.
    public var maxNumHeaders: Int
    /// Maximum length of the request target in bytes. Default 8192. Exceeding it answers 414.
    public var maxURILength: Int
    /// Maximum decoded body bytes of one request (Content-Length or sum of chunks). Default 8 MiB
    /// (8388608 bytes), ample for long chat prompts. Exceeding it answers 413.
    public var maxBodyBytes: Int
    /// Maximum bytes of one chunk-size line (size plus extensions). Default 1024. Exceeding it answers 400.
    public var maxChunkLineBytes: Int

    public init(
        maxHeaderBytes: Int = 16384, maxNumHeaders: Int = 100, maxURILength: Int = 8192,
        maxBodyBytes: Int = 8 << 20, maxChunkLineBytes: Int = 1024
    ) {
        precondition(maxHeaderBytes > 0 && maxNumHeaders > 0 && maxURILength > 0 && maxBodyBytes >= 0)
        self.maxHeaderBytes = maxHeaderBytes
        self.maxNumHeaders = maxNumHeaders
        self.maxURILength = maxURILength
        self.maxBodyBytes = maxBodyBytes
        self.maxChunkLineBytes = maxChunkLineBytes
    }

    /// The documented defaults.
    public static let `default` = HTTPLimits()
}
