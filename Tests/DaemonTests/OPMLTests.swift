import Testing

@testable import Daemon

/// The shape readers export: a head, folders one (or two) levels deep, feeds with both
/// `text` and `title`, attributes in odd casing, entities and non-ASCII titles, a feed in
/// two folders, a `feed://` URL, an empty folder and a feed at the top level. Written for
/// this test.
private let exported = """
  <?xml version="1.0" encoding="UTF-8"?>
  <!-- Exported subscriptions -->
  <opml version="1.0">
    <head>
      <title>Subscriptions of Zoë</title>
      <dateCreated>Sun, 22 Nov 2026 09:00:00 GMT</dateCreated>
    </head>
    <body>
      <outline text="Tech &amp; Science" title="Tech &amp; Science">
        <outline type="rss" text="Quanta" title="Quanta Magazine"
          xmlUrl="https://www.quantamagazine.example/feed/" htmlUrl="https://www.quantamagazine.example"/>
        <outline text="AI">
          <outline type="rss" text="L&#8217;IA au quotidien — ☕" xmlUrl=" https://ia.example/rss?lang=fr&amp;x=1 "/>
          <outline text="Model notes" xmlURL="https://notes.example/atom.xml" htmlURL="https://notes.example/"/>
        </outline>
      </outline>
      <outline title="日本語ニュース">
        <outline type="RSS" text="東京テック" xmlUrl="feed://tokyo.example/index.xml" category="/Asia/Japan,tech"/>
        <outline type="rss" text="Quanta (again)" xmlUrl="https://www.quantamagazine.example/feed/"/>
      </outline>
      <outline text="Empty folder"/>
      <outline text="Loose" type="rss" xmlUrl="https://loose.example/feed"/>
      <outline text="A link, not a feed" type="link" url="https://example.org/"/>
    </body>
  </opml>
  """

@Test func importsNestedFoldersAsTopics() throws {
  let feeds = try OPML.parse(Array(exported.utf8))
  #expect(
    feeds.map(\.url) == [
      "https://www.quantamagazine.example/feed/",
      "https://ia.example/rss?lang=fr&x=1",
      "https://notes.example/atom.xml",
      "http://tokyo.example/index.xml",
      "https://loose.example/feed",
    ])
  let quanta = feeds[0]
  #expect(quanta.title == "Quanta Magazine")
  #expect(quanta.htmlURL == "https://www.quantamagazine.example")
  // Listed in two folders: one feed, both folders' names.
  #expect(quanta.topics == ["Tech & Science", "日本語ニュース"])
  #expect(feeds[1].title == "L\u{2019}IA au quotidien — ☕")
  #expect(feeds[1].topics == ["Tech & Science", "AI"])
  #expect(feeds[2].title == "Model notes")
  #expect(feeds[2].htmlURL == "https://notes.example/")
  // Folder, then every component of every category path.
  #expect(feeds[3].topics == ["日本語ニュース", "Asia", "Japan", "tech"])
  #expect(feeds[4].topics == [])
  #expect(feeds[4].title == "Loose")
}

@Test func roundTripKeepsURLsTitlesAndTopics() throws {
  var a = Config.FeedConfig(url: "https://a.example/feed?x=1&y=\"2\"")
  a.topics = ["AI", "Open models"]
  a.title = "A <b>bold</b> & \"quoted\" title\twith a tab"
  var b = Config.FeedConfig(url: "https://b.example/atom.xml")
  b.topics = ["Research"]
  var c = Config.FeedConfig(url: "https://c.example/rss")
  c.topics = ["AI", "Ünïcödé"]
  let d = Config.FeedConfig(url: "https://d.example/feed")  // no topics
  var e = Config.FeedConfig(url: "https://e.example/feed")
  e.topics = ["Japan/Tokyo", "a,b", "AI"]
  let text = OPML.export([a, b, c, d, e], title: "feedspool & friends")
  #expect(text.hasPrefix("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<opml version=\"2.0\">"))
  #expect(text.contains("<title>feedspool &amp; friends</title>"))
  let back = try OPML.parse(Array(text.utf8))
  // Grouped by first topic: AI's feeds (a, c) come together.
  #expect(back.map(\.url) == [a, c, b, e, d].map(\.url))
  let byURL = Dictionary(uniqueKeysWithValues: back.map { ($0.url, $0) })
  for f in [a, b, c, d] {
    #expect(byURL[f.url]?.topics == f.topics, "\(f.url)")
  }
  #expect(byURL[a.url]?.title == a.title)
  #expect(byURL[d.url]?.title == d.url)
  // A topic with a slash or comma survives only as a folder name.
  #expect(byURL[e.url]?.topics == ["Japan/Tokyo", "AI"])
}

@Test func exportedGroupsImportAsFolders() throws {
  var a = Config.FeedConfig(url: "https://a.example/feed")
  a.topics = ["AI", "News"]
  let text = OPML.export([a], title: "t")
  #expect(
    text.contains(
      """
          <outline text="AI" title="AI">
            <outline type="rss" text="https://a.example/feed" title="https://a.example/feed" \
      xmlUrl="https://a.example/feed" category="AI,News"/>
          </outline>
      """))
}

@Test func refusesWhatIsNotOPML() {
  #expect(throws: OPMLError.notOPML(root: "rss")) {
    try OPML.parse(Array("<rss version=\"2.0\"><channel/></rss>".utf8))
  }
  #expect(throws: OPMLError.self) {
    try OPML.parse(Array("this is not xml".utf8))
  }
  #expect(throws: OPMLError.self) {
    try OPML.parse([])
  }
}

@Test func toleratesSloppyFiles() throws {
  // Unescaped ampersand, no XML declaration, upper-case element names, no type.
  let sloppy = """
    <OPML version="2.0"><BODY>
    <outline text="News & Views"><outline text="X" xmlUrl="https://x.example/f?a=1&b=2"/></outline>
    </BODY></OPML>
    """
  let feeds = try OPML.parse(Array(sloppy.utf8))
  #expect(
    feeds == [
      OPMLFeed(url: "https://x.example/f?a=1&b=2", title: "X", topics: ["News & Views"])
    ])
  // References stay references when a bare `&` elsewhere needs escaping.
  let mixed = """
    <opml><body><outline text="R&amp;D &#x263A; &#233;t&eacute;" title="A & B"
    xmlUrl="https://y.example/?a=1&b=2&amp;c=3"/></body></opml>
    """
  let y = try OPML.parse(Array(mixed.utf8))
  #expect(y.map(\.url) == ["https://y.example/?a=1&b=2&c=3"])
  #expect(y.first?.title == "A & B")
}

@Test func importIntoAConfigAndExportAgain() throws {
  // What `import-opml` does: read the file, add every feed in one edit.
  let imported = try OPML.parse(Array(exported.utf8))
  let config = "# mine\ninterval: 1h\nfeeds:\n  - url: https://loose.example/feed\n"
  let result = try ConfigEditor.addFeeds(
    to: config,
    imported.map { ConfigEditor.NewEntry(url: $0.url, topics: $0.topics, title: $0.title) })
  #expect(result.added.count == 4)
  #expect(result.skipped == [.alreadyListed(url: "https://loose.example/feed", list: "feeds")])
  #expect(result.text.hasPrefix(config))
  let feeds = try Config.parse(result.text, environment: [:]).feeds
  #expect(feeds.count == 5)
  let tokyo = try #require(feeds.first { $0.url == "http://tokyo.example/index.xml" })
  #expect(tokyo.title == "東京テック")
  #expect(tokyo.topics == ["日本語ニュース", "Asia", "Japan", "tech"])
  // And out again: every URL and topic list survives.
  let again = try OPML.parse(Array(OPML.export(feeds, title: "mine").utf8))
  #expect(Set(again.map(\.url)) == Set(feeds.map(\.url)))
  for f in feeds {
    #expect(again.first { $0.url == f.url }?.topics == f.topics)
  }
}
