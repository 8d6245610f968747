import HTTP
import Synchronization
import TestSupport
import Testing

@testable import Daemon

// MARK: - <link> discovery

private let blogPage = """
  <!DOCTYPE html>
  <html lang="en">
  <head>
    <meta charset="utf-8">
    <title>A blog</title>
    <link rel="stylesheet" href="/style.css">
    <link rel="alternate" type="application/rss+xml" title="A blog &raquo; Comments Feed"
      href="/comments/feed/">
    <link rel="alternate" type="application/json" href="/wp-json/wp/v2/pages/12">
    <link rel="alternate" type="application/json+oembed" href="/oembed?url=x">
    <link rel="alternate" type="application/rss+xml" title="A blog &raquo; Feed" href="feed/">
    <link rel="alternate" hreflang="de" href="/de/">
    <link rel="Alternate" type="Application/Atom+XML; charset=utf-8" href="https://cdn.example/atom.xml">
    <link rel="alternate" type="application/feed+json" title="JSON Feed" href="//example.org/feed.json">
    <link rel="alternate" type="application/rss+xml" href="feed/">
  </head>
  <body><p>Hello</p>
  <link rel="alternate feed" type="application/rss+xml" href="/body-feed.xml">
  </body>
  </html>
  """

@Test func discoversLinkedFeedsBestFirst() {
  let found = FeedDiscovery.discover(
    html: Array(blogPage.utf8), pageURL: "https://example.org/blog/post-1")
  #expect(
    found.map(\.url) == [
      "https://example.org/blog/feed/",
      "https://cdn.example/atom.xml",
      "https://example.org/body-feed.xml",
      "https://example.org/feed.json",
      "https://example.org/comments/feed/",
    ])
  #expect(found.map(\.format) == [.rss, .atom, .rss, .json, .rss])
  #expect(found.first?.title == "A blog » Feed")
}

@Test func baseHrefIsHonoured() {
  let page = """
    <html><head><base href="/sites/one/">
    <link rel="alternate" type="application/atom+xml" href="atom.xml">
    <link rel="alternate" type="application/rss+xml" href="javascript:void(0)">
    </head></html>
    """
  let found = FeedDiscovery.discover(html: Array(page.utf8), pageURL: "http://example.net/x/y")
  #expect(found == [DiscoveredFeed(url: "http://example.net/sites/one/atom.xml", format: .atom)])
  #expect(FeedDiscovery.discover(html: Array("<p>no links</p>".utf8), pageURL: "http://a/").isEmpty)
  #expect(FeedDiscovery.discover(html: [], pageURL: "http://a/").isEmpty)
}

/// A page not in UTF-8 is read in the encoding it declares, as the extractor reads it:
/// `<meta charset>`, or the Content-Type's charset when there is one.
@Test func legacyEncodedPagesAreReadInTheirEncoding() {
  func page(_ charset: String, title: [UInt8]) -> [UInt8] {
    Array("<html><head><meta charset=\"\(charset)\">".utf8)
      + Array("<link rel=\"alternate\" type=\"application/rss+xml\" ".utf8)
      + Array("href=\"/f.xml\" title=\"".utf8)
      + title + Array("\"></head><body></body></html>".utf8)
  }
  // "日本" in Shift_JIS; "Café — x" in windows-1252.
  let japanese = page("shift_jis", title: [0x93, 0xFA, 0x96, 0x7B])
  let latin = page("windows-1252", title: [0x43, 0x61, 0x66, 0xE9, 0x20, 0x97, 0x20, 0x78])
  #expect(FeedDiscovery.discover(html: japanese, pageURL: "http://a.example/").first?.title == "日本")
  #expect(
    FeedDiscovery.discover(html: latin, pageURL: "http://a.example/").first?.title == "Café — x")
  // The HTTP header wins over the page's own declaration.
  let declared = page("shift_jis", title: [0x43, 0x61, 0x66, 0xE9])
  let found = FeedDiscovery.discover(
    html: declared, pageURL: "http://a.example/", contentType: "text/html; charset=ISO-8859-1")
  #expect(found.first?.title == "Café")
  #expect(found.first?.url == "http://a.example/f.xml")
}

// MARK: - sniffing

@Test func sniffsFeedDocuments() {
  let feeds = [
    "<rss version=\"2.0\"><channel/></rss>",
    "\u{FEFF}<?xml version=\"1.0\"?>\n<?xml-stylesheet href=\"/s.xsl\" type=\"text/xsl\"?>\n"
      + "<!-- generated -->\n<feed xmlns=\"http://www.w3.org/2005/Atom\"></feed>",
    "<?xml version=\"1.0\"?><!DOCTYPE rss [<!ENTITY x \"y\">]><rss/>",
    "<rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\"></rdf:RDF>",
    "  \n{\"title\": \"x\", \"version\" : \"https://jsonfeed.org/version/1.1\", \"items\": []}",
    "{\"version\":\"http://jsonfeed.org/version/1\"}",
  ]
  for f in feeds {
    #expect(FeedDiscovery.looksLikeFeed(Array(f.utf8)), "\(f)")
  }
  // UTF-16 with a byte order mark.
  var utf16: [UInt8] = [0xFF, 0xFE]
  for u in "<?xml version=\"1.0\" encoding=\"UTF-16\"?><rss/>".utf16 {
    utf16 += [UInt8(u & 0xFF), UInt8(u >> 8)]
  }
  #expect(FeedDiscovery.looksLikeFeed(utf16))

  let notFeeds = [
    "<!DOCTYPE html><html><head><link rel=alternate type=application/rss+xml href=/f></head></html>",
    "<html><body><rss>not really</rss></body></html>",
    "{\"version\": \"1.0\", \"url\": \"https://jsonfeed.org/version/1\"}",
    "{\"items\": []}",
    "<?xml version=\"1.0\"?><urlset/>",
    "<!-- unterminated",
    "",
    "plain text mentioning <rss>",
  ]
  for f in notFeeds {
    #expect(!FeedDiscovery.looksLikeFeed(Array(f.utf8)), "\(f)")
  }
}

@Test func guessesUnderTheDirectoryThenTheOrigin() {
  let g = FeedDiscovery.guesses(for: "https://example.org:8443/blog/post?id=3#top")
  #expect(g.first == "https://example.org:8443/blog/feed")
  #expect(g.contains("https://example.org:8443/feed"))
  #expect(g.contains("https://example.org:8443/feeds/posts/default"))
  #expect(FeedDiscovery.guesses(for: "https://example.org").first == "https://example.org/feed")
  #expect(!FeedDiscovery.guesses(for: "https://example.org/").contains { $0.contains("//feed") })
}

// MARK: - resolve, over real HTTP

private let rss = """
  <?xml version="1.0"?><rss version="2.0"><channel><title>t</title></channel></rss>
  """

/// `FeedDiscovery.Fetch` on the real fetcher, as the command line uses it. The loopback
/// server is allowed explicitly: discovered URLs are not trusted.
private func realFetch(_ server: LoopbackHTTPServer) -> (Fetcher, FeedDiscovery.Fetch) {
  let fetcher = Fetcher(
    userAgent: "feedspool-test", policy: NetworkPolicy(allow: ["127.0.0.1:\(server.port)"]))
  let fetch: FeedDiscovery.Fetch = { url in
    switch await fetcher.fetch(FetchRequest(url: url, trusted: false)) {
    case .fetched(let r), .httpStatus(let r), .notModified(let r):
      return (r.status, r.headers["Content-Type"], r.body, r.url)
    case .failed:
      return nil
    }
  }
  return (fetcher, fetch)
}

@Test func resolveKeepsAFeedURL() async throws {
  let server = try LoopbackHTTPServer()
  defer { server.stop() }
  // Served as text/html: the body decides, not the label.
  server.route("/feed.rss") { _ in .text(rss, contentType: "text/html") }
  let (fetcher, fetch) = realFetch(server)
  defer { fetcher.shutdown() }
  let url = server.baseURL + "/feed.rss"
  #expect(await FeedDiscovery.resolve(url, fetch: fetch) == url)
  #expect(server.requests.count == 1)
}

@Test func resolveFollowsThePagesLinksSkippingBrokenOnes() async throws {
  let server = try LoopbackHTTPServer()
  defer { server.stop() }
  // The page moved; its links are relative to where it is now.
  server.route("/") { _ in .redirect(301, to: "/blog/") }
  server.route("/blog/") { _ in
    .text(
      """
      <html><head>
      <link rel="alternate" type="application/atom+xml" href="gone.xml">
      <link rel="alternate" type="application/rss+xml" href="not-a-feed">
      <link rel="alternate" type="application/rss+xml" href="posts.rss">
      </head><body>blog</body></html>
      """, contentType: "text/html; charset=utf-8")
  }
  server.route("/blog/not-a-feed") { _ in .text("<html>nope</html>", contentType: "text/html") }
  server.route("/blog/posts.rss") { _ in .text(rss, contentType: "application/rss+xml") }
  let (fetcher, fetch) = realFetch(server)
  defer { fetcher.shutdown() }
  let found = await FeedDiscovery.resolve(server.baseURL + "/", fetch: fetch)
  #expect(found == server.baseURL + "/blog/posts.rss")
  #expect(server.requests(for: "/blog/gone.xml").count == 1)
  // The usual paths were not needed.
  #expect(server.requests(for: "/feed").isEmpty)
}

@Test func resolveFallsBackToTheUsualPaths() async throws {
  let server = try LoopbackHTTPServer()
  defer { server.stop() }
  server.route("/about/team") { _ in
    .text("<html><body>no links</body></html>", contentType: "text/html")
  }
  // /feed answers with an HTML page (a "subscribe" page): not a feed.
  server.route("/feed") { _ in .text("<html>subscribe!</html>", contentType: "text/html") }
  server.route("/index.xml") { _ in
    .text(
      "<feed xmlns=\"http://www.w3.org/2005/Atom\"><title>t</title></feed>",
      contentType: "application/atom+xml")
  }
  let (fetcher, fetch) = realFetch(server)
  defer { fetcher.shutdown() }
  let found = await FeedDiscovery.resolve(server.baseURL + "/about/team", fetch: fetch)
  #expect(found == server.baseURL + "/index.xml")
  // The page's directory first, then the root, in order, each once.
  let paths = server.requests.map(\.path)
  #expect(paths.first == "/about/team")
  #expect(paths.contains("/about/feed"))
  #expect(paths.firstIndex(of: "/about/feed")! < paths.firstIndex(of: "/feed")!)
  #expect(paths.last == "/index.xml")
  #expect(Set(paths).count == paths.count)
}

@Test func resolveGivesUpWhenNothingIsAFeed() async throws {
  let server = try LoopbackHTTPServer()
  defer { server.stop() }
  let (fetcher, fetch) = realFetch(server)
  defer { fetcher.shutdown() }
  #expect(await FeedDiscovery.resolve(server.baseURL + "/", fetch: fetch) == nil)
  // Bounded: the page and each usual path once.
  #expect(server.requests.count == 1 + FeedDiscovery.commonPaths.count)
  // A closed port: no answer at all, still nil, still bounded.
  let closed = server.baseURL
  server.stop()
  let count = Mutex(0)
  let counting: FeedDiscovery.Fetch = { url in
    count.withLock { $0 += 1 }
    return await fetch(url)
  }
  #expect(await FeedDiscovery.resolve(closed + "/x", fetch: counting) == nil)
  #expect(count.withLock { $0 } == 1 + FeedDiscovery.commonPaths.count)
}
