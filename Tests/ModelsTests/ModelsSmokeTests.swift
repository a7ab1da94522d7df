import Testing

@testable import Models

@Test func moduleLinks() {
    #expect(String(describing: ModelsModule.self) == "ModelsModule")
}
