import Foundation
import TestSupport
import Testing

/// add, remove, list, import-opml and export-opml through the binary.
@Suite(.serialized) struct CommandsTests {
  @Test func addDiscoversTheFeedOfAPageAndRemoveTakesItOut() throws {
    let server = try LoopbackHTTPServer()
    defer { server.stop() }
    server.route("/blog/") { _ in
      .text(
        """
        <html><head><title>Blog</title>
        <link rel="alternate" type="application/rss+xml" title="Posts" href="/blog/feed.xml">
        </head><body><p>hello</p></body></html>
        """, contentType: "text/html; charset=utf-8")
    }
    server.route("/blog/feed.xml") { _ in
      .text(
        "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>B</title></channel></rss>",
        contentType: "application/rss+xml")
    }
    let dir = try TemporaryDirectory()
    defer { dir.remove() }
    let cfg = dir.path + "/feedspool.yaml"
    let original = """
      # my feeds
      interval: 30m   # keep it polite

      feeds:
        # news
        - url: https://example.org/feed.xml
          topics: [News]
      network:
        allow: ["127.0.0.1:\(server.port)"]
      """
    try original.write(toFile: cfg, atomically: true, encoding: .utf8)

    let add = try EndToEndTests.run(
      ["add", "\(server.baseURL)/blog/", "--topic", "AI", "--topic", "Blogs", "--config", cfg])
    #expect(add.status == 0, "\(add.out)\(add.err)")
    #expect(add.out.contains("found feed: \(server.baseURL)/blog/feed.xml"))
    var text = try String(contentsOfFile: cfg, encoding: .utf8)
    #expect(text.hasPrefix("# my feeds\ninterval: 30m   # keep it polite\n"))
    #expect(text.contains("    # news\n") || text.contains("  # news\n"))
    let list = try EndToEndTests.run(["list", "--config", cfg])
    #expect(list.out.contains("\(server.baseURL)/blog/feed.xml  [AI, Blogs]"))
    #expect(try EndToEndTests.run(["check", "--config", cfg]).status == 0)

    let again = try EndToEndTests.run(["add", "\(server.baseURL)/blog/feed.xml", "--config", cfg])
    #expect(again.status != 0)  // already listed

    let rm = try EndToEndTests.run(["remove", "\(server.baseURL)/blog/feed.xml", "--config", cfg])
    #expect(rm.status == 0)
    text = try String(contentsOfFile: cfg, encoding: .utf8)
    #expect(text == original)
  }

  @Test func opmlFromAnotherReaderImportsAndExportsBack() throws {
    let dir = try TemporaryDirectory()
    defer { dir.remove() }
    let cfg = dir.path + "/feedspool.yaml"
    try "feeds: []\n".write(toFile: cfg, atomically: true, encoding: .utf8)
    // Nested folders, a category attribute, entities and non-ASCII titles, as
    // desktop and web readers export them.
    let opml = """
      <?xml version="1.0" encoding="UTF-8"?>
      <opml version="2.0">
        <head><title>Subscriptions from my reader</title></head>
        <body>
          <outline text="Tech" title="Tech">
            <outline text="AI &amp; ML" title="AI &amp; ML">
              <outline type="rss" text="Research blog" title="Research blog"
                xmlUrl="https://research.example.com/feed.xml" htmlUrl="https://research.example.com/"/>
            </outline>
            <outline type="rss" text="Café Numérique" xmlUrl="https://cafe.example.fr/rss?lang=fr&amp;x=1"
              category="/Europe/France"/>
          </outline>
          <outline type="rss" text="Loose" xmlUrl="https://loose.example.net/atom.xml"/>
        </body>
      </opml>
      """
    try opml.write(toFile: dir.path + "/in.opml", atomically: true, encoding: .utf8)
    let imp = try EndToEndTests.run(["import-opml", dir.path + "/in.opml", "--config", cfg])
    #expect(imp.status == 0, "\(imp.out)")
    #expect(imp.out.contains("imported 3 feeds"))
    let list = try EndToEndTests.run(["list", "--config", cfg]).out
    #expect(list.contains("https://research.example.com/feed.xml  [Tech, AI & ML]"))
    #expect(list.contains("https://cafe.example.fr/rss?lang=fr&x=1  [Tech, Europe, France]"))
    #expect(list.contains("https://loose.example.net/atom.xml"))

    let out = try EndToEndTests.run(["export-opml", "--config", cfg])
    #expect(out.status == 0)
    try out.out.write(toFile: dir.path + "/out.opml", atomically: true, encoding: .utf8)
    let cfg2 = dir.path + "/second.yaml"
    try "feeds: []\n".write(toFile: cfg2, atomically: true, encoding: .utf8)
    let back = try EndToEndTests.run(["import-opml", dir.path + "/out.opml", "--config", cfg2])
    #expect(back.out.contains("imported 3 feeds"))
    let list2 = try EndToEndTests.run(["list", "--config", cfg2]).out
    func urls(_ listing: String) -> Set<String> {
      var out = Set<String>()
      for line in listing.split(separator: "\n") {
        let words = line.split(separator: " ")
        if words.count > 1 { out.insert(String(words[1])) }
      }
      return out
    }
    #expect(urls(list2) == urls(list))
    #expect(urls(list).count == 3)
  }
}
