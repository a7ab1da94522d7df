import HTTPTestSupport
import COpenSSL
import Foundation
import HTTP1
import HTTPServer
import Telemetry
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// A self-signed certificate generated with the `openssl` command line into a temporary directory.
struct TestCertificate: Sendable {
    let directory: URL
    var certFile: String { directory.appendingPathComponent("cert.pem").path }
    var keyFile: String { directory.appendingPathComponent("key.pem").path }

    /// Nil (with a printed note) when the `openssl` tool is unavailable.
    static func make() -> TestCertificate? {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("pangu-tls-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let certificate = TestCertificate(directory: directory)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [
            "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", certificate.keyFile, "-out", certificate.certFile, "-days", "1", "-subj", "/CN=localhost",
        ]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        do {
            try process.run()
            process.waitUntilExit()
        } catch {
            print("note: openssl command unavailable, skipping TLS test (\(error))")
            return nil
        }
        guard process.terminationStatus == 0 else {
            print("note: openssl req failed, skipping TLS test")
            return nil
        }
        return certificate
    }

    func remove() { try? FileManager.default.removeItem(at: directory) }
}

/// Sends `request` over TLS with OpenSSL (no verification) and reads until the server closes.
func tlsExchange(port: Int, request: String) throws -> (version: Int32, response: String) {
    let client = try TestClient(port: port)
    guard let context = SSL_CTX_new(TLS_client_method()) else { throw TestClientError(description: "SSL_CTX_new") }
    defer { SSL_CTX_free(context) }
    _ = pangu_ssl_ctx_configure_client(context)
    guard let ssl = SSL_new(context) else { throw TestClientError(description: "SSL_new") }
    defer { SSL_free(ssl) }
    SSL_set_fd(ssl, client.fd)
    guard SSL_connect(ssl) == 1 else { throw TestClientError(description: "TLS handshake failed") }
    let bytes = Array(request.utf8)
    guard SSL_write(ssl, bytes, Int32(bytes.count)) == Int32(bytes.count) else {
        throw TestClientError(description: "SSL_write failed")
    }
    var received: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 16384)
    while true {
        let count = SSL_read(ssl, &buffer, Int32(buffer.count))
        if count <= 0 { break }
        received += buffer[0..<Int(count)]
    }
    return (pangu_ssl_version(ssl), String(decoding: received, as: UTF8.self))
}

@Suite("TLS")
struct TLSTests {
    @Test("serves pipelined keep-alive requests over TLS; a failed handshake closes only that connection")
    func tlsRequest() async throws {
        // `make` waits for the openssl process: keep that wait off the cooperative pool.
        guard let certificate = try await blocking({ TestCertificate.make() }) else { return }
        defer { certificate.remove() }
        var config = HTTPServerConfig()
        config.tlsCertFile = certificate.certFile
        config.tlsKeyFile = certificate.keyFile
        try await withServer(config: config, router: makeTestRouter()) { server, port in
            let closedPlain = try await blocking {
                let plain = try TestClient(port: port)
                try plain.send("GET /hello HTTP/1.1\r\nHost: t\r\n\r\n")
                return plain.waitForClose()
            }
            #expect(closedPlain)
            let (version, response) = try await blocking {
                try tlsExchange(
                    port: port,
                    request: "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n"
                        + "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 9\r\nConnection: close\r\n\r\nover tls!")
            }
            #expect(version >= 0x0303)
            #expect(response.hasPrefix("HTTP/1.1 200 OK\r\n"))
            #expect(response.contains("\r\n\r\nhelloHTTP/1.1 200 OK\r\n"))
            #expect(response.hasSuffix("\r\n\r\nover tls!"))
            #expect(await eventually { server.numOpenConnections == 0 })
        }
    }

    @Test("start fails with a clear error when the key file is missing")
    func missingKey() throws {
        var config = HTTPServerConfig()
        config.port = 0
        config.tlsCertFile = "/nonexistent/cert.pem"
        config.tlsKeyFile = "/nonexistent/key.pem"
        let server = HTTPServer(config: config, router: Router(), logger: Logger(label: "t", level: .error))
        #expect(throws: HTTPServerError.self) { try server.start() }
    }
}
