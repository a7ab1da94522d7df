import HTTPTestSupport
import HTTP1
import HTTPServer
import Testing

/// Guards against a server closing descriptors it no longer owns: a double `close(fd)` would close
/// whatever socket the process opened next under that number, such as another server's connections.
@Suite("Descriptor ownership")
struct DescriptorOwnershipTests {
    @Test("churning, refusing and shutting down connections on one server leaves another server's connections intact")
    func churnLeavesNeighbourIntact() async throws {
        try await withServer(router: makeTestRouter()) { neighbour, neighbourPort in
            var config = HTTPServerConfig()
            config.maxConnections = 4
            var keepers: [TestClient] = []
            for _ in 0..<3 {
                keepers += try await withServer(config: config, router: makeTestRouter()) { _, port in
                    try await blocking { try Self.churn(port: port, neighbourPort: neighbourPort) }
                }
                // Opened right after a shutdown, so they reuse the numbers that server just closed.
                keepers += try await blocking { try (0..<2).map { _ in try TestClient(port: neighbourPort) } }
            }
            let allKeepers = keepers
            #expect(await eventually { neighbour.numOpenConnections == allKeepers.count })
            let statuses = try await blocking {
                try allKeepers.map { client in try client.request("GET", "/hello").status }
            }
            #expect(statuses == Array(repeating: 200, count: allKeepers.count))
            #expect(neighbour.numOpenConnections == allKeepers.count)
        }
    }

    /// Opens, serves and abandons connections on `port` (some beyond its limit, so refused with 503, and
    /// some left open for shutdown), interleaved with new connections to the neighbour, which it returns.
    private static func churn(port: Int, neighbourPort: Int) throws -> [TestClient] {
        var held: [TestClient] = []
        var keepers: [TestClient] = []
        for index in 0..<40 {
            let client = try TestClient(port: port)
            if index % 3 == 0 {
                held.append(client)
            } else {
                _ = try? client.request("GET", "/hello")
            }
            if index % 5 == 0 { keepers.append(try TestClient(port: neighbourPort)) }
        }
        _ = held
        return keepers
    }
}
