import Testing

@testable import Articles

@Test func ArticlesModuleLinks() {
  #expect(Bool(true))
}
