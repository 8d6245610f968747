import Foundation
import TestSupport
import Testing
import Yams

/// Configured article pages and full-text feeds, through the binary.
@Suite(.serialized) struct ArticlePagesTests {
  /// Writes `dir/feedspool.yaml`: spool and state in `dir`, errors only, then `rest`.
  static func config(_ dir: TemporaryDirectory, _ rest: String) throws -> String {
    let path = dir.path + "/feedspool.yaml"
    try "spool: \(dir.path)/spool\nstate: \(dir.path)/state\nlogLevel: error\n\(rest)\n"
      .write(toFile: path, atomically: true, encoding: .utf8)
    return path
  }

  static func page(_ title: String, _ body: String, site: String = "Loopback Times") -> String {
    """
    <!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
    <title>\(title) | \(site)</title>
    <meta property="og:site_name" content="\(site)">
    <meta property="article:published_time" content="2024-03-05T10:00:00Z">
    <meta name="author" content="Grace Hopper">
    </head><body>
    <nav><a href="/">Home</a> <a href="/world">World</a> <a href="/tech">Tech</a></nav>
    <article><h1>\(title)</h1>
    <p>\(body) The first paragraph carries enough words to be the main text of this page,
    as a real article would, with a <a href="/related">link</a> inside it.</p>
    <p>A second paragraph follows with more sentences about the same subject, so that the
    extractor sees a body of text and not a teaser. It goes on for a while longer.</p>
    <script>document.write("tracking")</script>
    </article>
    <footer>Copyright Loopback Times. All rights reserved.</footer>
    </body></html>
    """
  }

  func frontMatter(_ path: String) throws -> [String: Any] {
    let text = try String(contentsOfFile: path, encoding: .utf8)
    let yaml = try #require(text.dropFirst(4).components(separatedBy: "\n---\n").first)
    return try #require(try Yams.load(yaml: yaml) as? [String: Any])
  }

  /// An RSS feed of items `Story N` (teaser `Teaser N.`) linking to `links`, in order.
  static func feed(_ title: String, links: [String]) -> ServedResponse {
    var items = ""
    for (i, link) in links.enumerated() {
      items +=
        "<item><title>Story \(i)</title><link>\(link)</link>"
        + "<description>Teaser \(i).</description></item>"
    }
    return .text(
      "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>\(title)</title>\(items)</channel></rss>",
      contentType: "application/rss+xml")
  }

  /// A page that answers after 60 s: later than any test's fetch timeout.
  static func stalled(_ title: String) -> ServedResponse {
    var response = ServedResponse.text(Self.page(title, "Late."), contentType: "text/html")
    response.delayBeforeHead = .seconds(60)
    return response
  }

  /// The config of one `fullText` feed, `server`'s `/feed.xml`, with `server` allowed.
  static func fullTextConfig(
    _ dir: TemporaryDirectory, _ server: LoopbackHTTPServer, timeout: String
  ) throws -> String {
    try config(
      dir,
      """
      limits:
        timeout: \(timeout)
      feeds:
        - url: \(server.baseURL)/feed.xml
          fullText: true
      network:
        allow: ["127.0.0.1:\(server.port)"]
      """)
  }

  @Test func aConfiguredArticlePageIsExtractedOnceAndSpooled() throws {
    let server = try LoopbackHTTPServer()
    defer { server.stop() }
    server.route("/news/story?utm_campaign=x") { _ in .redirect(301, to: "/news/story") }
    server.route("/news/story") { _ in
      .text(
        Self.page("Quantum chips get cheaper", "Researchers showed a new way."),
        contentType: "text/html; charset=utf-8")
    }
    let dir = try TemporaryDirectory()
    defer { dir.remove() }
    let cfg = try Self.config(
      dir,
      """
      articles:
        - url: \(server.baseURL)/news/story?utm_campaign=x
          topics: [Hardware]
      """)
    let r = try EndToEndTests.run(["run", "--once", "--config", cfg])
    #expect(r.out.contains("stored=1"), "\(r.err)")
    let files =
      (try? FileManager.default.contentsOfDirectory(atPath: dir.path + "/spool/new")) ?? []
    #expect(files == ["2024-03-05-quantum-chips-get-cheaper.md"])
    guard let name = files.first else { return }
    let fm = try frontMatter(dir.path + "/spool/new/" + name)
    #expect(fm["title"] as? String == "Quantum chips get cheaper")
    #expect(fm["webUrl"] as? String == server.baseURL + "/news/story")
    #expect((fm["provider"] as? [String: Any])?["name"] as? String == "Loopback Times")
    #expect(fm["author"] as? String == "Grace Hopper")
    #expect((fm["topics"] as? [String]) == ["Hardware"])
    let text = try String(contentsOfFile: dir.path + "/spool/new/" + name, encoding: .utf8)
    #expect(text.contains("Researchers showed a new way."))
    #expect(text.contains("(\(server.baseURL)/related)"))
    #expect(!text.contains("tracking"))
    #expect(!text.contains("All rights reserved"))
    // Done once: neither a plain nor a forced round fetches it again.
    server.clearLog()
    _ = try EndToEndTests.run(["run", "--once", "--force", "--config", cfg])
    #expect(server.requests.isEmpty)
  }

  @Test func fullTextFeedsTakeTheBodyFromTheItemsPage() throws {
    let server = try LoopbackHTTPServer()
    defer { server.stop() }
    let base = server.baseURL
    server.route("/feed.xml") { _ in
      .text(
        """
        <?xml version="1.0"?><rss version="2.0"><channel><title>Teasers</title><link>\(base)/</link>
        <description>d</description>
        <item><title>Only a teaser</title><link>\(base)/full/1</link>
          <description>Read more...</description><pubDate>Mon, 04 Mar 2024 08:00:00 GMT</pubDate></item>
        <item><title>Broken page</title><link>\(base)/full/missing</link>
          <description>The item's own text stays.</description></item>
        </channel></rss>
        """, contentType: "application/rss+xml")
    }
    server.route("/full/1") { _ in
      .text(Self.page("Only a teaser", "The full story is here."), contentType: "text/html")
    }
    let dir = try TemporaryDirectory()
    defer { dir.remove() }
    let cfg = try Self.config(
      dir,
      """
      feeds:
        - url: \(base)/feed.xml
          fullText: true
      network:
        allow: ["127.0.0.1:\(server.port)"]
      """)
    let r = try EndToEndTests.run(["run", "--once", "--config", cfg])
    #expect(r.out.contains("stored=2"), "\(r.err)")
    let one = try String(
      contentsOfFile: dir.path + "/spool/new/2024-03-04-only-a-teaser.md", encoding: .utf8)
    #expect(one.contains("The full story is here."))
    let files =
      (try? FileManager.default.contentsOfDirectory(atPath: dir.path + "/spool/new")) ?? []
    let broken = try #require(files.first { $0.hasSuffix("broken-page.md") })
    let text = try String(contentsOfFile: dir.path + "/spool/new/" + broken, encoding: .utf8)
    #expect(text.contains("The item's own text stays."))
  }

  /// Item pages that stall are fetched a few at a time within a time budget for the
  /// poll (twice the fetch timeout); the articles whose pages were not had keep the
  /// feed's own text. One poll used to fetch them one after another, each cut only at
  /// the fetch timeout: hours for a big feed, with other feeds waiting.
  @Test func stallingItemPagesCannotHoldAPoll() throws {
    let server = try LoopbackHTTPServer()
    defer { server.stop() }
    let base = server.baseURL
    let count = 16
    let links = (0..<count).map { "\(base)/stall/\($0)" }
    server.route("/feed.xml") { _ in Self.feed("Slow", links: links) }
    for i in 0..<count {
      server.route("/stall/\(i)") { _ in Self.stalled("Story \(i)") }
    }
    let dir = try TemporaryDirectory()
    defer { dir.remove() }
    let cfg = try Self.fullTextConfig(dir, server, timeout: "2s")
    let r = try EndToEndTests.run(["run", "--once", "--config", cfg])
    #expect(r.out.contains("stored=\(count)"), "\(r.err)")
    // Four at a time for 4 s, 2 s each: about eight pages asked for, not all sixteen.
    let asked = server.requests.filter { $0.path.hasPrefix("/stall/") }.count
    #expect(asked >= 4 && asked < count, "\(asked) pages asked for")
    let files =
      (try? FileManager.default.contentsOfDirectory(atPath: dir.path + "/spool/new")) ?? []
    #expect(files.count == count)
    for name in files {
      let text = try String(contentsOfFile: dir.path + "/spool/new/" + name, encoding: .utf8)
      #expect(text.contains("Teaser"), "\(name)")
    }
  }

  /// Articles from large item pages are delivered while the poll still waits for other
  /// pages, not all at its end (a poll of 25 large pages held 25 MB of articles).
  @Test func largeItemPagesAreDeliveredBeforeThePollEnds() throws {
    let server = try LoopbackHTTPServer()
    defer { server.stop() }
    let base = server.baseURL
    let big = 12
    // The stalled page first: it holds one of the four fetch slots all along.
    let links = ["\(base)/stall"] + (0..<big).map { "\(base)/big/\($0)" }
    server.route("/feed.xml") { _ in Self.feed("Big", links: links) }
    // 1.2 MB of text each: an article keeps about 1 MiB of it, and eight or nine such
    // articles are more than a poll holds (8 MiB).
    let sentence = "Words of a long report about the harbour and its ships. "
    let paragraph = "<p>" + String(repeating: sentence, count: 60) + "</p>\n"
    let body = String(repeating: paragraph, count: 360)
    for i in 0..<big {
      server.route("/big/\(i)") { _ in
        .text(Self.page("Story \(i)", body), contentType: "text/html")
      }
    }
    server.route("/stall") { _ in Self.stalled("Late") }
    let dir = try TemporaryDirectory()
    defer { dir.remove() }
    let cfg = try Self.fullTextConfig(dir, server, timeout: "20s")
    let daemon = Process()
    daemon.executableURL = URL(fileURLWithPath: EndToEndTests.binary)
    daemon.arguments = ["run", "--once", "--config", cfg]
    daemon.standardOutput = FileHandle.nullDevice
    daemon.standardError = FileHandle.nullDevice
    try daemon.run()
    defer { if daemon.isRunning { kill(daemon.processIdentifier, SIGKILL) } }
    func delivered() -> Int {
      ((try? FileManager.default.contentsOfDirectory(atPath: dir.path + "/spool/new")) ?? [])
        .count
    }
    // The first item's page stalls until the 20 s timeout; eight or more articles come
    // before (all of them at the poll's end, on the old code).
    let deadline = Date().addingTimeInterval(18)
    while delivered() < 8 && daemon.isRunning && Date() < deadline {
      Thread.sleep(forTimeInterval: 0.1)
    }
    let early = delivered()
    let stalled = server.requests.contains { $0.path == "/stall" }
    #expect(daemon.isRunning && stalled, "the poll was not waiting for the stalled page")
    #expect(early >= 8, "\(early) articles delivered while the poll waited")
    daemon.waitUntilExit()
    #expect(delivered() == big + 1)
  }

  @Test func itemPagesOnPrivateAddressesAreNotFetchedUnlessAllowed() throws {
    let server = try LoopbackHTTPServer()
    defer { server.stop() }
    let base = server.baseURL
    server.route("/feed.xml") { _ in
      .text(
        """
        <?xml version="1.0"?><rss version="2.0"><channel><title>T</title>
        <item><title>Inside</title><link>\(base)/secret</link><description>teaser</description></item>
        </channel></rss>
        """, contentType: "application/rss+xml")
    }
    server.route("/secret") { _ in
      .text(Self.page("Secret", "Internal only."), contentType: "text/html")
    }
    let dir = try TemporaryDirectory()
    defer { dir.remove() }
    // The feed URL is the operator's (trusted); the item link came from the network.
    let cfg = try Self.config(
      dir,
      """
      feeds:
        - url: \(base)/feed.xml
          fullText: true
      """)
    let r = try EndToEndTests.run(["run", "--once", "--config", cfg])
    #expect(r.out.contains("stored=1"))
    #expect(server.requests(for: "/secret").isEmpty)
  }
}
