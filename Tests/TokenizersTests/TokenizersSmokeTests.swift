import Testing

@testable import Tokenizers

@Test func placeholder() {}
