import Testing

@testable import Feeds

@Test func FeedsModuleLinks() {
  #expect(Bool(true))
}
