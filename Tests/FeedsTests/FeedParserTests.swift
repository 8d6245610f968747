import Foundation
import Testing
import XML

@testable import Feeds

/// Reads a fixture written for these tests (Tests/FeedsTests/Fixtures).
func fixture(_ name: String) throws -> [UInt8] {
  let url = try #require(Bundle.module.url(forResource: "Fixtures/" + name, withExtension: nil))
  return Array(try Data(contentsOf: url))
}

func parseFixture(
  _ name: String, url: String? = "http://docs.test/feed.xml", contentType: String? = nil
) throws -> ParsedFeed {
  try FeedParser.parse(fixture(name), url: url, contentType: contentType)
}

func iso(_ d: Date?) -> String? { d.map(FeedDate.iso) }

@Suite struct FormatTests {
  @Test func rss20WithExtensions() throws {
    let f = try parseFixture("rss20.xml")
    #expect(f.format == .rss20)
    #expect(!f.bozo)
    #expect(f.title == "Harbour Notes")
    // Relative channel link resolved against the channel's xml:base.
    #expect(f.link == "http://news.test/section/index.html")
    #expect(f.subtitle == "Weekly <b>notes</b> from the harbour")
    #expect(f.ttlMinutes == 45)
    #expect(f.updatePeriod == "hourly" && f.updateFrequency == 2)
    #expect(f.skipHours == [1, 2])
    #expect(f.image == "http://news.test/art/cover.png")
    #expect(f.entries.count == 2)

    let a = f.entries[0]
    #expect(a.title == "Ferry timetable changes")
    #expect(a.link == "http://news.test/section/ferry.html")
    #expect(a.id == "harbour-0001")  // opaque guid left alone
    #expect(iso(a.published) == "2003-06-10T04:00:00Z")
    #expect(a.author == "Maren Holt")
    #expect(a.tags == ["Transport", "Ferries"])
    #expect(
      a.summary == "Short version with a <a href=\"http://news.test/section/details/1\">link</a>.")
    #expect(
      a.enclosures == [
        .init(href: "http://news.test/audio/ferry.mp3", type: "audio/mpeg", length: "12345")
      ])
    #expect(a.mediaContent.map(\.url) == ["http://cdn.test/v.mp4"])
    #expect(a.mediaContent.first?.width == "640")
    #expect(a.thumbnails.map(\.url) == ["http://cdn.test/v.jpg"])

    let b = f.entries[1]
    // A permalink guid stands in for the missing link.
    #expect(b.link == "http://news.test/lighthouse")
    #expect(iso(b.updated) == "2003-06-11T07:30:00Z")
    #expect(b.author == "Ada Quay")  // "email (Name)"
    #expect(b.summary == "Visit the lighthouse.")  // itunes:summary fallback
  }

  @Test func atom10LinksBaseAndXHTML() throws {
    let f = try parseFixture("atom10.xml")
    #expect(f.format == .atom10)
    #expect(!f.bozo)
    #expect(f.title == "Tidal & Co")
    #expect(f.link == "http://blog.test/")  // rel=alternate, not rel=self
    #expect(f.subtitle == "<em>Tides</em> explained")
    let e = try #require(f.entries.first)
    // The text/html alternate wins over the PDF one.
    #expect(e.link == "http://blog.test/posts/2024/spring.html")
    #expect(e.title == "Spring <i>tides</i>")
    #expect(iso(e.published) == "2024-03-01T13:00:00Z")
    #expect(iso(e.updated) == "2024-03-02T10:15:30Z")
    #expect(e.author == "Iris Moon")
    #expect(e.tags == ["tides", "moon"])
    #expect(e.enclosures.first?.href == "http://blog.test/posts/2024/spring.ogg")
    // The xhtml div wrapper is not content; links inside resolve against the entry's xml:base.
    #expect(
      e.content == "<p>See <a href=\"http://blog.test/posts/2024/chart.png\">the chart</a>.</p>")
  }

  @Test func atom03EscapedAndBase64() throws {
    let f = try parseFixture("atom03.xml")
    #expect(f.format == .atom03)
    #expect(f.title == "Old &lt;b&gt;Atom&lt;/b&gt;")
    let e = try #require(f.entries.first)
    #expect(e.content == "<p>Hello <b>world</b></p>")
    #expect(iso(e.published) == "2004-01-02T03:04:05Z")
    #expect(iso(e.updated) == "2004-01-03T03:04:05Z")
  }

  @Test func rss10RDF() throws {
    let f = try parseFixture("rss10.rdf")
    #expect(f.format == .rss10)
    #expect(f.title == "RDF Digest")  // not the image's title
    #expect(f.entries.map(\.id) == ["http://rdf.test/a", "http://rdf.test/b"])
    #expect(iso(f.entries[0].updated) == "2005-07-08T09:10:11Z")
    #expect(f.entries[0].author == "Rolf")
  }

  @Test func jsonFeed() throws {
    let f = try parseFixture("feed.json")
    #expect(f.format == .json11)
    #expect(!f.bozo)
    #expect(f.title == "Kettle Log")
    #expect(f.link == "https://kettle.test/")
    #expect(f.entries.count == 2)
    let a = f.entries[0]
    #expect(a.content == "<p>Use vinegar.</p>")  // script sanitized away
    #expect(iso(a.published) == "2024-05-06T06:08:09Z")
    #expect(a.author == "Tess Steam")
    #expect(a.tags == ["care", "kettles"])
    #expect(
      a.enclosures == [.init(href: "https://kettle.test/2.mp3", type: "audio/mpeg", length: "2048")]
    )
    let b = f.entries[1]
    #expect(b.id == "1")
    #expect(b.content == "First boil &amp; more")
    #expect(b.updated == nil)  // "not a date" is not made up
  }

  @Test func cdf() throws {
    let f = try parseFixture("cdf.cdf")
    #expect(f.format == .cdf)
    #expect(f.title == "Channel Definition")
    #expect(f.entries.first?.link == "http://cdf.test/page1")
    #expect(iso(f.entries.first?.updated) == "2001-02-03T04:05:00Z")
  }

  @Test func htmlPageAndGarbageAreNotFeeds() throws {
    #expect(throws: FeedParseError.self) { try parseFixture("page.html") }
    #expect(throws: FeedParseError.self) {
      try FeedParser.parse(Array("   \n".utf8), url: nil, contentType: nil)
    }
    #expect(throws: FeedParseError.self) {
      try FeedParser.parse(Array("hello world".utf8), url: nil, contentType: nil)
    }
  }
}

@Suite struct RecoveryTests {
  @Test func undeclaredHTMLEntitiesAndBareAmpersands() throws {
    let f = try parseFixture("rss091-entities.xml")
    #expect(f.bozo)
    #expect(f.format == .rss091)
    #expect(f.title == "Café News — daily")
    #expect(f.link == "http://cafe.test/?a=1&b=2")
    #expect(f.entries.first?.title == "Crème brûlée © 2024")
    #expect(f.entries.first?.summary == "Price: 5€")
  }

  @Test func truncatedDocumentKeepsWhatWasThere() throws {
    let f = try parseFixture("truncated.xml")
    #expect(f.bozo)
    #expect(f.title == "Cut short")
    #expect(f.entries.first?.link == "http://cut.test/1")
    #expect(f.entries.count >= 1)
  }

  @Test func latin1DeclaredMeansWindows1252() throws {
    let f = try parseFixture("latin1.xml")
    #expect(!f.bozo)
    #expect(f.title == "Précis")
    #expect(f.entries.first?.title == "Costs £“5”")
  }

  @Test func utf16WithBOM() throws {
    let f = try parseFixture("utf16le.xml")
    #expect(f.title == "Wide ☃ feed")
    #expect(f.entries.first?.title == "日本")
  }

  @Test func invalidUTF8IsRepairedNotDropped() throws {
    let f = try parseFixture("bad-utf8.xml")
    #expect(f.bozo)
    #expect(f.title == "Café – bar")  // stray 0x96 read as windows-1252, control char gone
    #expect(f.entries.count == 1)
  }

  @Test func httpCharsetWinsOverDefault() throws {
    let f = try parseFixture("http-charset.xml", contentType: "text/xml; charset=windows-1252")
    #expect(f.title == "“quoted”")
    #expect(!f.bozo)
    // Without the header the bytes are invalid UTF-8: repaired the same way, but bozo.
    let g = try parseFixture("http-charset.xml")
    #expect(g.title == "“quoted”")
    #expect(g.bozo)
  }

  @Test func entityBombStaysBounded() throws {
    var doc = "<?xml version=\"1.0\"?>\n<!DOCTYPE rss [\n<!ENTITY a0 \"lol lol lol lol lol\">\n"
    for i in 1...9 {
      let p = "&a\(i - 1);"
      doc += "<!ENTITY a\(i) \"\(String(repeating: p, count: 10))\">\n"
    }
    doc += "]>\n<rss version=\"2.0\"><channel><title>&a9;</title>"
    doc += String(repeating: "<item><title>&a9;&a9;</title></item>", count: 50)
    doc += "</channel></rss>"
    let start = Date()
    let f = try? FeedParser.parse(Array(doc.utf8), url: nil, contentType: nil)
    #expect(Date().timeIntervalSince(start) < 10)
    // Whatever is recovered, it is not a billion laughs.
    let total = (f?.entries ?? []).reduce(f?.title?.utf8.count ?? 0) {
      $0 + ($1.title?.utf8.count ?? 0)
    }
    #expect(total < 100_000_000)
  }
}

@Suite struct SanitizerTests {
  @Test func dropsScriptsHandlersAndJavascriptURLs() {
    let html = """
      <p onclick="x()" class="c">Hi <script>alert(1)</script><a href="javascript:evil()">a</a>\
      <img src="/i.png" onerror="y()"><style>p{}</style><iframe src="http://x/"></iframe>\
      <span style="color: red; background: url(http://x/)">s</span></p>
      """
    let out = HTMLSanitizer.sanitize(html, base: "http://site.test/dir/")
    #expect(!out.contains("script") && !out.contains("alert"))
    #expect(!out.contains("onclick") && !out.contains("onerror"))
    #expect(!out.contains("javascript:"))
    #expect(!out.contains("iframe") && !out.contains("url("))
    #expect(out.contains("<p class=\"c\">Hi "))
    #expect(out.contains("<img src=\"http://site.test/i.png\" />"))
    #expect(out.contains("<span style=\"color: red;\">s</span>"))
  }

  @Test func contentEncodedIsSanitizedInFeeds() throws {
    let f = try parseFixture("rss20.xml")
    let c = try #require(f.entries.first?.content)
    #expect(c.hasPrefix("<p>Full text.</p>"))
    #expect(!c.contains("steal") && !c.contains("alert") && !c.contains("javascript"))
  }

  @Test func everyTruncationIsSafe() {
    let html =
      "<p a='1' b=\"2\" c=3>x &#146; &amp; <!-- c --> <![CDATA[ d ]]> <!DOCTYPE x>"
      + "<script>bad()</script><a href=\"javascript:x\">l</a><br/><img src=/i.png>"
      + "</p><!- <? pi ?> <style>s{}</style> &#x93;"
    let bytes = Array(html.utf8)
    for cut in 0...bytes.count {
      let out = HTMLSanitizer.sanitize(
        String(decoding: bytes[0..<cut], as: UTF8.self), base: "http://b.test/")
      #expect(
        !out.contains("<script") && !out.contains("bad()") && !out.contains("<a href=\"javascript"))
      #expect(!out.contains("<style"))
    }
  }

  @Test func svgKeepsItsOwnVocabulary() {
    let out = HTMLSanitizer.sanitize(
      "<svg viewBox=\"0 0 10 10\" onload=\"x()\"><circle cx=\"5\" r=\"4\"/>"
        + "<a xlink:href=\"javascript:y()\"><rect width=\"1\"/></a></svg>",
      base: nil)
    #expect(out.contains("<svg viewBox=\"0 0 10 10\">"))
    #expect(out.contains("<circle cx=\"5\" r=\"4\">"))
    #expect(!out.contains("onload") && !out.contains("javascript"))
  }

  /// Markup that never ends is text, read the same whether one or thousands of such tags
  /// follow each other (each used to be read to the end of the text again: 100,000
  /// unterminated `<b ` took 81 s). A quoted value hides a `>` only when the tag
  /// reader's own reading of the quotes says so.
  @Test func markupThatNeverEndsIsText() {
    // The input, what it reads as, and whether it holds no `>` (then any number of copies
    // reads as copies of that).
    let cases: [(String, String, Bool)] = [
      ("<b <b <b end", "&lt;b &lt;b &lt;b end", true),
      ("<b x=\"<b x=\"<b x=\"", "&lt;b x=\"&lt;b x=\"&lt;b x=\"", true),
      ("a<!-- b <!-- c", "a&lt;!-- b &lt;!-- c", true),
      ("<? a <? b", "&lt;? a &lt;? b", true),
      ("<b x=\"<i>y</i> z", "&lt;b x=\"<i>y</i> z", false),
      ("<b x=\"1\" <i>ok</i> <u y='>", "<b>ok</i> &lt;u y='>", false),
    ]
    for (input, expected, noEnd) in cases {
      #expect(HTMLSanitizer.sanitize(input, base: nil) == expected, "\(input)")
      guard noEnd else { continue }
      let many = HTMLSanitizer.sanitize(String(repeating: input + " ", count: 3000), base: nil)
      #expect(many == String(repeating: expected + " ", count: 3000).dropLast(), "\(input) x3000")
    }
  }

  @Test func plainTextPassesThroughUntouched() {
    #expect(HTMLSanitizer.sanitize("just words", base: nil) == "just words")
  }
}

@Suite struct DateTests {
  func p(_ s: String) -> String? { FeedDate.parse(s).map(FeedDate.iso) }

  @Test func rfc822Variants() {
    #expect(p("Sun, 06 Nov 1994 08:49:37 GMT") == "1994-11-06T08:49:37Z")
    #expect(p("Sun, 6 Nov 1994 08:49 GMT") == "1994-11-06T08:49:00Z")  // no seconds
    #expect(p("Thu, 06 Nov 1994 08:49:37 GMT") == "1994-11-06T08:49:37Z")  // wrong weekday
    #expect(p("06 Nov 94 08:49:37 EST") == "1994-11-06T13:49:37Z")  // 2-digit year, named zone
    #expect(p("Sun, 06 Nov 1994 08:49:37 +0200") == "1994-11-06T06:49:37Z")
    #expect(p("Sun, 06 Nov 1994 08:49:37 -07:30") == "1994-11-06T16:19:37Z")
    #expect(p("Sun, 06 Nov 1994 08:49:37 Z") == "1994-11-06T08:49:37Z")
    #expect(p("Sun, 06 Nov 1994 08:49:37 N") == "1994-11-06T07:49:37Z")  // military +1
    #expect(p("Sun, 06 Nov 1994 08:49:37") == "1994-11-06T08:49:37Z")  // no zone: UTC
    #expect(p("Sunday, 06-Nov-94 08:49:37 GMT") == "1994-11-06T08:49:37Z")  // RFC 850
    #expect(p("Sun Nov  6 08:49:37 1994") == "1994-11-06T08:49:37Z")  // asctime
    #expect(p("Tue, 29 Feb 2000 00:00:00 GMT") == "2000-02-29T00:00:00Z")
  }

  /// A date that falls before year 1 (or after 9999) once in UTC is no date: no timestamp
  /// can write it, and YAML readers refuse year 0.
  @Test func datesOutsideYearsOneTo9999InUTCAreRefused() {
    #expect(p("Mon, 01 Jan 0001 00:00:00 +0100") == nil)
    #expect(p("0001-01-01T00:00:00+05:00") == nil)
    #expect(p("9999-12-31T23:59:59-01:00") == nil)
    #expect(p("Mon, 01 Jan 0001 00:00:00 GMT") == "0001-01-01T00:00:00Z")
    #expect(p("0001-01-01T00:00:00-05:00") == "0001-01-01T05:00:00Z")
    #expect(p("9999-12-31T23:59:59Z") == "9999-12-31T23:59:59Z")
    #expect(FeedDate.iso(Date(timeIntervalSince1970: -1e12)) == "0001-01-01T00:00:00Z")
  }

  /// The one-pass reader of the common RFC 822 form agrees with the general reader
  /// wherever it answers, and leaves every other shape to it.
  @Test func commonRFC822FormAgreesWithGeneralReader() {
    let taken = [
      "Sun, 06 Nov 1994 08:49:37 GMT", "Sun, 6 Nov 1994 08:49 GMT", "06 Nov 1994 08:49:37 +0200",
      "Thu, 06 Nov 1994 08:49:37 -0730", "sun, 06 nov 1994 08:49:37 utc",
      "Sun, 06 Nov 1994 08:49:37 Z",
      "Tue, 29 Feb 2000 00:00:00 UT", "Mon, 32 Jan 2004 00:00:00 GMT",
      "Tue, 29 Feb 2001 00:00:00 GMT",
      "Mon, 01 Jan 2004 10:99:00 GMT", "Mon, 01 Jan 2004 24:00:00 +0000",
    ]
    for s in taken {
      let b = Array(s.utf8)
      let fast = FeedDate.rfc822Common(b)
      #expect(fast != nil, "\(s) should take the one-pass reader")
      #expect(fast.flatMap { $0 } == FeedDate.rfc822General(b), "\(s)")
    }
    let left = [
      "Sunday, 06-Nov-94 08:49:37 GMT", "Sun Nov  6 08:49:37 1994", "06 Nov 94 08:49:37 EST",
      "Sun, 06 Nov 1994 08:49:37", "Sun, 06 Nov 1994 08:49:37 -07:30",
      "Sun, 06 Nov 1994 08:49:37.5 GMT",
      "Sun, 06 Nov 1994 08:49:37 N", "Sun, 06 Nov 1994 08:49:37 GMT+1",
      "Xyz, 06 Nov 1994 08:49:37 GMT",
      "Sun, 06 November 1994 08:49:37 GMT", "Sun, 06 Nov 1994 08:49:37 ",
    ]
    for s in left { #expect(FeedDate.rfc822Common(Array(s.utf8)) == nil, "\(s)") }
    // Impossible zones: left to the general reader, which refuses them.
    for s in ["Mon, 01 Jan 2004 10:00:00 +2400", "Mon, 01 Jan 2004 10:00:00 +0099"] {
      #expect(FeedDate.rfc822Common(Array(s.utf8)) == nil, "\(s)")
      #expect(FeedDate.parse(s) == nil, "\(s)")
    }
  }

  @Test func iso8601Variants() {
    #expect(p("2003-12-31T10:14:55Z") == "2003-12-31T10:14:55Z")
    #expect(p("2003-12-31T10:14:55.123-05:00") == "2003-12-31T15:14:55Z")
    #expect(p("2003-12-31T10:14+0100") == "2003-12-31T09:14:00Z")
    #expect(p("2003-12-31") == "2003-12-31T00:00:00Z")
    #expect(p("2003-12") == "2003-12-01T00:00:00Z")
    #expect(p("20031231T101455Z") == "2003-12-31T10:14:55Z")
    #expect(p("2003-12-31 10:14:55") == "2003-12-31T10:14:55Z")
    #expect(p("2004-060") == "2004-02-29T00:00:00Z")  // ordinal date
  }

  @Test func bogusDatesAreNil() {
    for s in [
      "", "soon", "2003-13-01T00:00:00Z", "2003-02-30", "Mon, 32 Jan 2004 00:00:00 GMT",
      "Mon, 01 Foo 2004 00:00:00 GMT", "2004-01-01T25:00:00Z", "12:00", "Mon, 01 Jan 2004 10:99:00",
      "\u{0}\u{1}garbage", String(repeating: "9", count: 500),
    ] {
      #expect(FeedDate.parse(s) == nil, "\(s)")
    }
  }
}

@Suite struct CommandTests {
  @Test func parseCommandReadsHeadersAndContentLocation() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent(
      "feeds-cmd-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let feedPath = dir.appendingPathComponent("f.xml").path
    let headersPath = dir.appendingPathComponent("h.json").path
    try Data(
      "<rss version=\"2.0\"><channel><title>\u{93}T\u{94}</title><link>rel</link></channel></rss>"
        .unicodeScalars.map { UInt8($0.value) }
    ).write(to: URL(fileURLWithPath: feedPath))
    try Data(
      #"{"CONTENT-TYPE": "text/xml; charset=windows-1252", "Content-Location": "/base/"}"#.utf8
    ).write(to: URL(fileURLWithPath: headersPath))
    let r = FeedParser.parseCommand(
      file: feedPath, url: "http://h.test/x/feed", headersFile: headersPath)
    #expect(r.exitCode == 0)
    let obj = try #require(
      try JSONSerialization.jsonObject(with: Data(r.output.utf8)) as? [String: Any])
    let feed = try #require(obj["feed"] as? [String: Any])
    #expect(feed["title"] as? String == "“T”")
    #expect(feed["link"] as? String == "http://h.test/base/rel")
    #expect(obj["bozo"] as? Bool == false)

    let list = dir.appendingPathComponent("list.txt").path
    let rss = try #require(Bundle.module.url(forResource: "Fixtures/rss20.xml", withExtension: nil))
    try "\(rss.path)\n\(feedPath)\n/nonexistent/feed.xml\n".write(
      toFile: list, atomically: true, encoding: .utf8)
    let counts = FeedParser.parseList(list)
    #expect(counts.items == 2 && counts.errors == 1)

    let missing = FeedParser.parseCommand(file: "/nonexistent/x", url: nil, headersFile: nil)
    #expect(missing.exitCode != 0)
  }

  @Test func corpusJSONShape() throws {
    let f = try parseFixture("atom10.xml")
    let obj = try #require(
      try JSONSerialization.jsonObject(with: Data(FeedParser.corpusJSON(f).utf8)) as? [String: Any])
    let entries = try #require(obj["entries"] as? [[String: Any]])
    #expect(entries.first?["published"] as? String == "2024-03-01T13:00:00Z")
    #expect(
      (entries.first?["enclosures"] as? [[String: Any]])?.first?["length"] as? String == "999")
  }
}

@Suite struct IntTableTests {
  @Test func storesLooksUpAndGrowsLikeADictionary() {
    var table = IntTable<String>(capacity: 2)
    var reference: [UInt64: String] = [:]
    var x: UInt64 = 0x1234_5678
    for i in 0..<5000 {
      x = x &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
      let key = (x >> 20) | 1  // never 0
      table[key] = "v\(i)"
      reference[key] = "v\(i)"
    }
    #expect(table.count == reference.count)
    for (k, v) in reference { #expect(table[k] == v) }
    #expect(table[UInt64(0)] == nil)
    #expect(table[UInt64(2)] == nil || reference[2] != nil)
    table[Int(-5)] = "negative"
    #expect(table[Int(-5)] == "negative")
  }
}

/// A document of more items than `FeedParser.maxItems` gives the first ones, in order,
/// and counts the rest, whichever path reads it (streaming, recovering DOM, JSON).
@Test func itemsPastTheLimitAreCountedNotRead() throws {
  let n = FeedParser.maxItems + 500
  let items = (0..<n).map { "<item><title>t\($0)</title><link>/a/\($0)</link></item>" }.joined()
  let wellFormed = "<rss version=\"2.0\"><channel><title>big</title>\(items)</channel></rss>"
  let withDoctype = "<!DOCTYPE rss><rss version=\"2.0\"><channel>\(items)&nbsp;</channel></rss>"
  let jsonItems = (0..<n).map { "{\"id\":\"\($0)\",\"url\":\"https://j.example/\($0)\"}" }
  let json =
    "{\"version\":\"https://jsonfeed.org/version/1.1\",\"title\":\"j\",\"items\":[\(jsonItems.joined(separator: ","))]}"
  for doc in [wellFormed, withDoctype, json] {
    let feed = try FeedParser.parse(Array(doc.utf8), url: "https://f.example/", contentType: nil)
    #expect(feed.entries.count == FeedParser.maxItems)
    #expect(feed.droppedItems == 500)
    #expect(feed.entries.last?.link?.hasSuffix("/\(FeedParser.maxItems - 1)") == true)
  }
}

/// An element with thousands of attributes is refused before libxml2 sees it (its
/// duplicate check is quadratic: 60,000 attributes took 52 s); a few hundred are fine.
@Test func elementsWithThousandsOfAttributesAreRefused() {
  func feed(_ attributes: Int) -> [UInt8] {
    let attrs = (0..<attributes).map { "a\($0)=\"v\"" }.joined(separator: " ")
    return Array(
      "<rss version=\"2.0\"><channel><item><title>t</title><link>http://a.example/1</link><category \(attrs)>c</category></item></channel></rss>"
        .utf8)
  }
  #expect(throws: FeedParseError.self) {
    try FeedParser.parse(feed(5000), url: nil, contentType: nil)
  }
  #expect((try? FeedParser.parse(feed(500), url: nil, contentType: nil))?.entries.count == 1)
  // Quoted values are skipped, whatever they hold; the HTML parser is guarded too.
  let quoted = Array("<p title=\"\(String(repeating: " x", count: 5000))\">text</p>".utf8)
  #expect((try? XMLDocument.parseHTML(quoted)) != nil)
  let html = Array("<p \(String(repeating: " x", count: 5000))>text</p>".utf8)
  #expect(throws: XMLError.self) { try XMLDocument.parseHTML(html) }
}
