import Testing

@testable import Devices

@Test func moduleLinks() {
    #expect(String(describing: DevicesModule.self) == "DevicesModule")
}
