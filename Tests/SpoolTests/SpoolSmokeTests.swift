import Testing

@testable import Spool

@Test func SpoolModuleLinks() {
  #expect(Bool(true))
}
