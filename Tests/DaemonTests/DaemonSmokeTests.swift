import Testing

@testable import Daemon

@Test func DaemonModuleLinks() {
  #expect(Bool(true))
}
