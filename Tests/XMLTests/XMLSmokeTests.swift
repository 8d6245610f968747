import Testing

@testable import XML

@Test func XMLModuleLinks() {
  #expect(Bool(true))
}
