import Testing

@testable import Weights

@Test func moduleLinks() {
    #expect(String(describing: WeightsModule.self) == "WeightsModule")
}
