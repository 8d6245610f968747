import Foundation
import TestSupport
import Testing

/// Items without a link: an id stands in only when it is an absolute http(s) URL.
@Suite struct LinklessItemsTests {
  @Test func opaqueIdsAreNotMadeIntoLinks() throws {
    let server = try LoopbackHTTPServer()
    defer { server.stop() }
    func rss(_ name: String) -> String {
      """
      <?xml version="1.0"?><rss version="2.0"><channel><title>\(name)</title>
      <item><title>\(name) one</title><guid isPermaLink="false">1</guid>
        <description>Opaque guid.</description></item>
      <item><title>\(name) two</title><guid>2</guid><description>Bare guid.</description></item>
      <item><title>\(name) three</title><guid isPermaLink="false">https://news.example/\(name)/3</guid>
        <description>An absolute id.</description></item>
      </channel></rss>
      """
    }
    let atom = """
      <?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>A</title>
      <entry><title>Atom one</title><id>post-1</id><summary>Opaque id.</summary></entry>
      <entry><title>Atom two</title><id>tag:news.example,2024:2</id><summary>Tag.</summary></entry>
      </feed>
      """
    let json = """
      {"version": "https://jsonfeed.org/version/1.1", "title": "J",
       "items": [{"id": "13", "title": "Json one", "content_text": "Opaque id."}]}
      """
    for name in ["a", "b"] {
      let body = rss(name)
      server.route("/feeds/\(name).xml") { _ in .text(body, contentType: "application/rss+xml") }
    }
    server.route("/feeds/atom.xml") { _ in .text(atom, contentType: "application/atom+xml") }
    server.route("/feeds/j.json") { _ in .text(json, contentType: "application/feed+json") }
    let dir = try TemporaryDirectory()
    defer { dir.remove() }
    let base = server.baseURL
    let cfg = try ArticlePagesTests.config(
      dir,
      """
      feeds:
        - url: \(base)/feeds/a.xml
        - url: \(base)/feeds/b.xml
        - url: \(base)/feeds/atom.xml
        - url: \(base)/feeds/j.json
      network:
        allow: ["127.0.0.1:\(server.port)"]
      """)
    let r = try EndToEndTests.run(["run", "--once", "--config", cfg])
    // Only the two items whose ids are URLs: nothing at made-up addresses like
    // /feeds/1, and feed b's items are not taken for feed a's.
    #expect(r.out.contains("stored=2"), "\(r.out) \(r.err)")
    let names =
      (try? FileManager.default.contentsOfDirectory(atPath: dir.path + "/spool/new")) ?? []
    var urls: [String] = []
    for name in names {
      let text = try String(contentsOfFile: dir.path + "/spool/new/" + name, encoding: .utf8)
      if let line = text.split(separator: "\n").first(where: { $0.hasPrefix("webUrl: ") }) {
        urls.append(String(line.dropFirst(8)).replacingOccurrences(of: "\"", with: ""))
      }
    }
    #expect(urls.sorted() == ["https://news.example/a/3", "https://news.example/b/3"])
  }
}
