import COpenSSL

/// Server-side OpenSSL context built once from the configured PEM files and shared by every connection.
///
/// `SSL_CTX` is safe to use from several event loops for creating sessions; the context is freed when the
/// server is released. Only TLS 1.2 and 1.3 are negotiated.
final class TLSContext: @unchecked Sendable {
    let context: OpaquePointer

    init(certificateFile: String, keyFile: String) throws(HTTPServerError) {
        guard let method = TLS_server_method(), let context = SSL_CTX_new(method) else {
            throw .tlsSetupFailed("SSL_CTX_new: \(TLSContext.lastError())")
        }
        self.context = context
        guard pangu_ssl_ctx_configure_server(context) == 1 else {
            throw .tlsSetupFailed("cannot set the minimum protocol version")
        }
        guard SSL_CTX_use_certificate_chain_file(context, certificateFile) == 1 else {
            throw .tlsSetupFailed("certificate \(certificateFile): \(TLSContext.lastError())")
        }
        guard SSL_CTX_use_PrivateKey_file(context, keyFile, SSL_FILETYPE_PEM) == 1 else {
            throw .tlsSetupFailed("private key \(keyFile): \(TLSContext.lastError())")
        }
        guard SSL_CTX_check_private_key(context) == 1 else {
            throw .tlsSetupFailed("private key does not match the certificate")
        }
    }

    deinit {
        SSL_CTX_free(context)
    }

    /// A new server session on `fd`, in accept state.
    func makeSession(fd: Int32) -> OpaquePointer? {
        guard let ssl = SSL_new(context) else { return nil }
        SSL_set_fd(ssl, fd)
        SSL_set_accept_state(ssl)
        return ssl
    }

    /// Text of the most recent OpenSSL error (and clears the queue).
    static func lastError() -> String {
        let code = ERR_get_error()
        ERR_clear_error()
        guard code != 0 else { return "unknown error" }
        var text = [CChar](repeating: 0, count: 256)
        ERR_error_string_n(code, &text, text.count)
        return Socket.cText(text)
    }
}
