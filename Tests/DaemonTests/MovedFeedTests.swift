import Foundation
import TestSupport
import Testing

@Suite struct MovedFeedTests {
  /// A feed that moved for good (301, three polls in a row) is then fetched at its new
  /// address as the redirect was: that address came from the network, so the network
  /// policy screens it. A host that later resolves to a private address, or an
  /// allowance taken back, does not make the daemon fetch it unscreened.
  @Test func aMovedFeedIsFetchedAtItsNewAddressAsARedirectIs() throws {
    let origin = try LoopbackHTTPServer()
    let target = try LoopbackHTTPServer()
    defer {
      origin.stop()
      target.stop()
    }
    origin.route("/feed.xml") { _ in .redirect(301, to: "\(target.baseURL)/feed.xml") }
    target.route("/feed.xml") { request in
      // A new item each time, so that any fetch of the target delivers something.
      let n = target.requests.count
      return .text(
        """
        <?xml version="1.0"?><rss version="2.0"><channel><title>Moved</title>
        <item><title>Inside \(n)</title><link>https://news.example/inside/\(n)</link>
        <description>Only for the inside.</description></item></channel></rss>
        """, contentType: "application/rss+xml")
    }
    let dir = try TemporaryDirectory()
    defer { dir.remove() }
    func config(_ allowed: [Int]) throws -> String {
      let list = allowed.map { "\"127.0.0.1:\($0)\"" }.joined(separator: ", ")
      return try ArticlePagesTests.config(
        dir,
        """
        feeds:
          - url: \(origin.baseURL)/feed.xml
        network:
          allow: [\(list)]
        """)
    }
    var cfg = try config([origin.port, target.port])
    for _ in 0..<3 {
      let r = try EndToEndTests.run(["run", "--once", "--force", "--config", cfg])
      #expect(r.out.contains("stored=1"), "\(r.out) \(r.err)")
    }
    let state = ["feeds.state", "feeds.journal"].compactMap {
      try? String(contentsOfFile: dir.path + "/state/" + $0, encoding: .utf8)
    }.joined()
    #expect(state.contains("movedTo"), "the move was not recorded")
    let asked = target.requests.count
    cfg = try config([origin.port])
    let r = try EndToEndTests.run(["run", "--once", "--force", "--config", cfg])
    #expect(r.out.contains("stored=0"), "\(r.out) \(r.err)")
    #expect(target.requests.count == asked, "the new address was fetched unscreened")
  }
}
