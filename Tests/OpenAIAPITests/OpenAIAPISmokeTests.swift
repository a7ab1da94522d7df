import Testing

@testable import OpenAIAPI

@Test func moduleLinks() {
    #expect(String(describing: OpenAIAPIModule.self) == "OpenAIAPIModule")
}
