import Foundation
import TestSupport
import Testing
import Yams

/// The whole path through the real binary: loopback feeds in all four formats,
/// `run --once`, the spool checked by `check_spool.py`, conditional refetches,
/// `tail --json`.
@Suite(.serialized) struct EndToEndTests {
  static let lastModified = "Sat, 01 Jun 2024 10:00:00 GMT"

  static func rss(_ base: String) -> String {
    """
    <?xml version="1.0" encoding="UTF-8"?>
    <rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/">
    <channel><title>Loopback &amp; News</title><link>\(base)/</link>
    <description>test</description>
    <item><title>Models &lt;b&gt;grow&lt;/b&gt; up: "quotes" &amp; colons</title>
      <link>\(base)/posts/one?utm_source=rss&amp;utm_medium=feed</link>
      <guid>one</guid><pubDate>Tue, 27 Feb 2024 13:04:00 GMT</pubDate>
      <category>Research</category>
      <description>&lt;p&gt;First &lt;a href="/about"&gt;post&lt;/a&gt;.&lt;/p&gt;</description>
      <content:encoded><![CDATA[<p>First post body with <a href="/about">a link</a>.</p><script>alert(1)</script>]]></content:encoded>
    </item>
    <item><title>Second</title><link>\(base)/posts/two</link>
      <description>No date here.</description></item>
    </channel></rss>
    """
  }

  static func atom(_ base: String) -> String {
    """
    <?xml version="1.0" encoding="utf-8"?>
    <feed xmlns="http://www.w3.org/2005/Atom" xml:base="\(base)/">
      <title>Atom side</title><id>urn:x</id><updated>2024-03-01T00:00:00Z</updated>
      <entry><title>Third</title><id>urn:3</id><link href="posts/three#comments"/>
        <updated>2024-03-01T08:00:00+02:00</updated><summary>three</summary></entry>
      <entry><title>Fourth again, via Atom</title><id>urn:4</id>
        <link rel="alternate" href="\(base)/posts/four?fbclid=xyz"/>
        <published>2024-04-01T09:30:00Z</published><content type="html">&lt;p&gt;dup&lt;/p&gt;</content></entry>
    </feed>
    """
  }

  static func rdf(_ base: String) -> String {
    """
    <?xml version="1.0"?>
    <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/"
      xmlns:dc="http://purl.org/dc/elements/1.1/">
      <channel rdf:about="\(base)/rdf"><title>RDF side</title><link>\(base)/</link><description>d</description></channel>
      <item rdf:about="\(base)/posts/four"><title>Fourth</title><link>\(base)/posts/four</link>
        <dc:date>2024-04-01T09:30:00Z</dc:date><dc:creator>Ada</dc:creator><description>four</description></item>
    </rdf:RDF>
    """
  }

  static func json(_ base: String) -> String {
    """
    {"version": "https://jsonfeed.org/version/1.1", "title": "JSON side", "home_page_url": "\(base)/",
     "items": [{"id": "5", "url": "\(base)/posts/five", "title": "Fifth",
                "content_html": "<p>five <em>rich</em></p>", "date_published": "2024-05-01T12:00:00Z",
                "tags": ["JSON"]}]}
    """
  }

  /// Starts a server with the four feeds (RSS gzip-encoded, Atom behind a 301).
  static func server() throws -> LoopbackHTTPServer {
    let server = try LoopbackHTTPServer()
    let base = server.baseURL
    let rssBody = Array(rss(base).utf8)
    let gz = try gzip(rssBody)
    server.route("/rss.xml") { req in
      let inm = req.headers["If-None-Match"]
      if inm == "\"rss-1\"" { return ServedResponse(status: 304, headers: ["ETag": "\"rss-1\""]) }
      var r = ServedResponse(
        status: 200, headers: ["ETag": "\"rss-1\"", "Content-Type": "application/rss+xml"],
        body: rssBody)
      if req.headers["Accept-Encoding"]?.contains("gzip") == true {
        r.body = gz
        r.headers.add("Content-Encoding", "gzip")
      }
      return r
    }
    server.route("/old-atom", { _ in .redirect(301, to: "/atom.xml") })
    server.route(
      "/atom.xml",
      ServedResponse.conditional(
        body: Array(atom(base).utf8), etag: nil, lastModified: lastModified))
    server.route(
      "/rdf.xml",
      ServedResponse.conditional(
        body: Array(rdf(base).utf8), etag: "W/\"rdf\"", lastModified: lastModified))
    server.route(
      "/feed.json",
      ServedResponse.conditional(
        body: Array(json(base).utf8), etag: "\"j\"", lastModified: nil,
        contentType: "application/feed+json"))
    return server
  }

  static var binary: String {
    URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
      .appendingPathComponent("feedspool").path
  }

  static var sharedDir: String {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
      .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("shared").path
  }

  @discardableResult
  static func run(_ args: [String]) throws -> (status: Int32, out: String, err: String) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: binary)
    p.arguments = args
    let out = Pipe()
    let err = Pipe()
    p.standardOutput = out
    p.standardError = err
    try p.run()
    let o = out.fileHandleForReading.readDataToEndOfFile()
    let e = err.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return (
      p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self)
    )
  }

  static func writeConfig(_ dir: TemporaryDirectory, base: String, port: Int) throws -> String {
    let yaml = """
      spool: \(dir.path)/spool
      state: \(dir.path)/state
      interval: 1h
      logLevel: warning
      feeds:
        - url: \(base)/rss.xml
          topics: [AI]
        - url: \(base)/old-atom
        - url: \(base)/rdf.xml
          category: research
        - url: \(base)/feed.json
      network:
        allow: ["127.0.0.1:\(port)"]
      """
    let path = dir.path + "/feedspool.yaml"
    try yaml.write(toFile: path, atomically: true, encoding: .utf8)
    return path
  }

  func files(_ dir: String) -> [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).sorted()
  }

  @Test func onceDeliversEachDistinctArticleThenOnlyConditionalRequests() throws {
    let server = try Self.server()
    defer { server.stop() }
    let dir = try TemporaryDirectory()
    defer { dir.remove() }
    let cfg = try Self.writeConfig(dir, base: server.baseURL, port: server.port)

    // Round 1: five distinct articles out of six items (one repeated via Atom with fbclid).
    let first = try Self.run(["run", "--once", "--config", cfg])
    #expect(first.status == 0, "stderr: \(first.err)")
    #expect(first.out.contains("stored=5"))
    let delivered = files(dir.path + "/spool/new")
    #expect(delivered.count == 5, "\(delivered)")
    #expect(files(dir.path + "/spool/tmp").isEmpty)
    #expect(delivered.contains("2024-02-27-models-grow-up-quotes-and-colons.md"))
    // The article offered by the RDF and the Atom feed: once, from whichever came first.
    #expect(
      delivered.filter {
        $0 == "2024-04-01-fourth.md" || $0 == "2024-04-01-fourth-again-via-atom.md"
      }
      .count == 1)

    // The RSS item: front matter reads back exactly, tracking parameters gone.
    let text = try String(
      contentsOfFile: dir.path + "/spool/new/2024-02-27-models-grow-up-quotes-and-colons.md",
      encoding: .utf8)
    let yaml = try #require(text.dropFirst(4).components(separatedBy: "\n---\n").first)
    let fm = try #require(try Yams.load(yaml: yaml) as? [String: Any])
    #expect(fm["title"] as? String == "Models grow up: \"quotes\" & colons")
    #expect(fm["webUrl"] as? String == server.baseURL + "/posts/one")
    #expect(
      fm["originalUrl"] as? String == server.baseURL + "/posts/one?utm_source=rss&utm_medium=feed")
    #expect((fm["topics"] as? [String])?.contains("AI") == true)
    #expect(!text.contains("<script"))
    #expect(text.contains("(\(server.baseURL)/about)"))  // relative link made absolute
    // Every article names the feed as configured; the Atom feed is fetched through a
    // redirect, and its articles still name /old-atom, not where the redirect led.
    var feeds: Set<String> = []
    for name in delivered {
      let t = try String(contentsOfFile: dir.path + "/spool/new/" + name, encoding: .utf8)
      let y = try #require(t.dropFirst(4).components(separatedBy: "\n---\n").first)
      if let f = (try Yams.load(yaml: y) as? [String: Any])?["feed"] as? String { feeds.insert(f) }
    }
    let base = server.baseURL
    #expect(feeds.contains(base + "/old-atom"))
    #expect(
      feeds.isSubset(of: [
        base + "/rss.xml", base + "/old-atom", base + "/rdf.xml", base + "/feed.json",
      ]),
      "\(feeds)")
    // The item without a date is marked as such.
    let second = try #require(delivered.first { $0.hasSuffix("-second.md") })
    let secondText = try String(contentsOfFile: dir.path + "/spool/new/" + second, encoding: .utf8)
    #expect(secondText.contains("dateSource: fetched"))

    // The strict spool checker, when the shared kit is beside the repo.
    let checker = Self.sharedDir + "/hostile/check_spool.py"
    if FileManager.default.fileExists(atPath: checker) {
      let p = Process()
      p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
      p.arguments = ["python3", checker, dir.path + "/spool", "-q"]
      let out = Pipe()
      p.standardOutput = out
      try p.run()
      let o = out.fileHandleForReading.readDataToEndOfFile()
      p.waitUntilExit()
      #expect(p.terminationStatus == 0, "\(String(decoding: o, as: UTF8.self))")
    }

    // Round 2, forced: every request conditional, every answer 304, nothing new.
    server.clearLog()
    let forced = try Self.run(["run", "--once", "--force", "--config", cfg])
    #expect(forced.status == 0)
    #expect(forced.out.contains("stored=0"))
    let feedRequests = server.requests.filter { $0.path != "/old-atom" }
    #expect(feedRequests.count == 4)
    for r in feedRequests {
      #expect(
        r.headers["If-None-Match"] != nil || r.headers["If-Modified-Since"] != nil,
        "\(r.path) was not conditional")
    }
    #expect(server.requests(for: "/rss.xml").first?.headers["If-None-Match"] == "\"rss-1\"")
    #expect(server.requests(for: "/rdf.xml").first?.headers["If-None-Match"] == "W/\"rdf\"")
    #expect(
      server.requests(for: "/atom.xml").first?.headers["If-Modified-Since"] == Self.lastModified)
    #expect(files(dir.path + "/spool/new").count == 5)

    // Round 3, not forced: nothing is due, no request at all.
    server.clearLog()
    let idle = try Self.run(["run", "--once", "--config", cfg])
    #expect(idle.status == 0)
    #expect(server.requests.isEmpty)

    // tail --json: exactly the delivered articles, in delivery order.
    let tail = try Self.run(["tail", "--json", "--spool", dir.path + "/spool"])
    let lines = tail.out.split(separator: "\n")
    #expect(lines.count == 5)
    let objects = lines.compactMap {
      try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
    }
    #expect(objects.map { $0["seq"] as? Int } == [1, 2, 3, 4, 5])
    let paths = objects.compactMap {
      ($0["path"] as? String).map { URL(fileURLWithPath: $0).lastPathComponent }
    }
    #expect(Set(paths) == Set(delivered))
    #expect(objects.allSatisfy { ($0["webUrl"] as? String)?.hasPrefix(server.baseURL) == true })
  }

  @Test func aRestartAfterKillDeliversNothingTwice() throws {
    let server = try Self.server()
    defer { server.stop() }
    let dir = try TemporaryDirectory()
    defer { dir.remove() }
    let cfg = try Self.writeConfig(dir, base: server.baseURL, port: server.port)
    try Self.run(["run", "--once", "--config", cfg])
    // Lose the feed state (validators and due times): everything is fetched again,
    // and the seen index keeps the spool free of repeats.
    try FileManager.default.removeItem(atPath: dir.path + "/state/feeds.state")
    let again = try Self.run(["run", "--once", "--config", cfg])
    #expect(again.out.contains("stored=0"))
    #expect(files(dir.path + "/spool/new").count == 5)
  }

  @Test func checkNamesTheLineOfABadField() throws {
    let dir = try TemporaryDirectory()
    defer { dir.remove() }
    let path = dir.path + "/bad.yaml"
    try "feeds:\n  - url: https://ok.example/feed\n  - url: gopher://x\n".write(
      toFile: path, atomically: true, encoding: .utf8)
    let r = try Self.run(["check", "--config", path])
    #expect(r.status != 0)
    #expect(r.out.contains("bad.yaml:3:"))
    #expect(r.out.contains("feeds[1].url"))
  }

  @Test func tailFollowPrintsDeliveriesAsTheyCome() throws {
    let server = try Self.server()
    defer { server.stop() }
    let dir = try TemporaryDirectory()
    defer { dir.remove() }
    let cfg = try Self.writeConfig(dir, base: server.baseURL, port: server.port)
    try FileManager.default.createDirectory(
      atPath: dir.path + "/spool", withIntermediateDirectories: true)
    let tail = Process()
    tail.executableURL = URL(fileURLWithPath: Self.binary)
    tail.arguments = ["tail", "--follow", "--json", "--spool", dir.path + "/spool"]
    let out = Pipe()
    tail.standardOutput = out
    try tail.run()
    defer { if tail.isRunning { tail.terminate() } }
    usleep(300_000)
    try Self.run(["run", "--once", "--config", cfg])
    // Read what tail printed, bounded in time.
    let fd = out.fileHandleForReading.fileDescriptor
    _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
    var text = ""
    let end = Date().addingTimeInterval(10)
    var buf = [UInt8](repeating: 0, count: 65536)
    while Date() < end && text.split(separator: "\n").count < 5 {
      let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
      if n > 0 { text += String(decoding: buf[0..<n], as: UTF8.self) } else { usleep(50_000) }
    }
    let lines = text.split(separator: "\n")
    #expect(lines.count == 5)
    #expect(lines.allSatisfy { $0.contains("\"webUrl\"") && $0.contains("\"path\"") })
    tail.terminate()
    tail.waitUntilExit()
  }
}
