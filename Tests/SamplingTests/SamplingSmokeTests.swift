import Testing

@testable import Sampling

@Test func placeholder() {}
