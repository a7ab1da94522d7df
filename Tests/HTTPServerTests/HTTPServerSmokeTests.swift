import Testing

@testable import HTTPServer

@Test func moduleLinks() {
    #expect(String(describing: HTTPServerModule.self) == "HTTPServerModule")
}
