import Testing

@testable import HTTP1

@Test func moduleLinks() {
    #expect(String(describing: HTTP1Module.self) == "HTTP1Module")
}
