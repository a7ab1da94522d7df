import Testing

@testable import Tensors

@Test func moduleLinks() {
    #expect(String(describing: TensorsModule.self) == "TensorsModule")
}
