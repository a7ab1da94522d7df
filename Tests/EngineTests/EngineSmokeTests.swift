import Testing

@testable import Engine

@Test func moduleLinks() {
    #expect(String(describing: EngineModule.self) == "EngineModule")
}
