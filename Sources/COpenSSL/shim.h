#ifndef PANGU_COPENSSL_SHIM_H
#define PANGU_COPENSSL_SHIM_H
#include <openssl/ssl.h>
#include <openssl/err.h>

/* Linux event-loop headers that the Swift Glibc module does not export; the HTTP server's epoll loop
   reaches them through this module so that no extra C target is needed. */
#include <sys/epoll.h>
#include <sys/eventfd.h>

/// Server context defaults that OpenSSL exposes only as macros: TLS 1.2 minimum, partial and
/// moving-buffer writes for non-blocking sockets, buffers released on idle connections, no renegotiation.
static inline int pangu_ssl_ctx_configure_server(SSL_CTX *ctx) {
    if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1) return 0;
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER
                              | SSL_MODE_RELEASE_BUFFERS);
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
    return 1;
}

/// Client context for tests and tools: TLS 1.2 minimum, no certificate verification.
static inline int pangu_ssl_ctx_configure_client(SSL_CTX *ctx) {
    if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1) return 0;
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
    return 1;
}

/// Negotiated protocol version number (e.g. 0x0304 for TLS 1.3).
static inline int pangu_ssl_version(const SSL *ssl) { return SSL_version(ssl); }
#endif
