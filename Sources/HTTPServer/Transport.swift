import COpenSSL

#if canImport(Glibc)
    import Glibc
#endif

/// Outcome of one non-blocking transport operation.
enum TransportResult {
    /// This many bytes were read or written (always > 0).
    case bytes(Int)
    /// Nothing can be done until the socket is readable again.
    case wantRead
    /// Nothing can be done until the socket is writable again.
    case wantWrite
    /// The peer closed its side cleanly.
    case endOfStream
    /// The connection failed (reset, protocol error); it must be closed.
    case failed
}

/// Byte stream of one connection: the raw socket, or a TLS session over it. Loop-thread only.
///
/// For TLS, a read may need the socket writable (and a write readable); the result says which, and the
/// connection waits for that readiness before retrying the same operation.
final class Transport {
    let fd: Int32
    private var ssl: OpaquePointer?
    /// Whether the TLS handshake (if any) has completed.
    private(set) var isHandshakeComplete: Bool

    init(fd: Int32, ssl: OpaquePointer?) {
        self.fd = fd
        self.ssl = ssl
        isHandshakeComplete = ssl == nil
    }

    var isTLS: Bool { ssl != nil }

    /// Advances the TLS handshake; `.bytes(0)`-free: returns `.endOfStream` when done (plain: immediately).
    func handshake() -> TransportResult {
        guard let ssl, !isHandshakeComplete else { return .endOfStream }
        ERR_clear_error()
        let result = SSL_do_handshake(ssl)
        if result == 1 {
            isHandshakeComplete = true
            return .endOfStream
        }
        return classify(ssl, result)
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) -> TransportResult {
        guard let ssl else {
            let count = recv(fd, buffer.baseAddress, buffer.count, 0)
            if count > 0 { return .bytes(count) }
            if count == 0 { return .endOfStream }
            return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? .wantRead : .failed
        }
        ERR_clear_error()
        let count = SSL_read(ssl, buffer.baseAddress, Int32(min(buffer.count, Int(Int32.max))))
        if count > 0 { return .bytes(Int(count)) }
        return classify(ssl, count)
    }

    func write(_ bytes: UnsafeRawBufferPointer) -> TransportResult {
        guard !bytes.isEmpty else { return .bytes(0) }
        guard let ssl else {
            let count = send(fd, bytes.baseAddress, bytes.count, Int32(MSG_NOSIGNAL))
            if count > 0 { return .bytes(count) }
            return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? .wantWrite : .failed
        }
        ERR_clear_error()
        let count = SSL_write(ssl, bytes.baseAddress, Int32(min(bytes.count, 1 << 30)))
        if count > 0 { return .bytes(Int(count)) }
        return classify(ssl, count)
    }

    /// Stops sending (TLS close_notify, then TCP FIN) while still allowing reads.
    func shutdownOutput() {
        if let ssl, isHandshakeComplete {
            ERR_clear_error()
            _ = SSL_shutdown(ssl)
        }
        _ = Glibc.shutdown(fd, Int32(SHUT_WR))
    }

    /// Frees the TLS session and closes the socket.
    func close() {
        if let ssl {
            SSL_free(ssl)
            self.ssl = nil
        }
        _ = Glibc.close(fd)
    }

    private func classify(_ ssl: OpaquePointer, _ result: Int32) -> TransportResult {
        switch SSL_get_error(ssl, result) {
        case SSL_ERROR_WANT_READ: return .wantRead
        case SSL_ERROR_WANT_WRITE: return .wantWrite
        case SSL_ERROR_ZERO_RETURN: return .endOfStream
        default:
            ERR_clear_error()
            return .failed
        }
    }
}
