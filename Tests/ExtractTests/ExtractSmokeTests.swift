import Testing

@testable import Extract

@Test func ExtractModuleLinks() {
  #expect(Bool(true))
}
