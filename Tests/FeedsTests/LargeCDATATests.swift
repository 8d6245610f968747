import TestSupport
import Testing

@testable import Feeds
@testable import XML

/// A CDATA section of megabytes made libxml2's streaming reader quadratic (8 MB: 11 s of
/// one thread). Documents with such a section go to the DOM parser; what the feed says
/// must not change.
@Suite struct LargeCDATATests {
  static let body: String = {
    var s = ""
    var i = 0
    while s.utf8.count < 100_000 {
      s += "<p>Paragraph \(i) with &amp; an ampersand, a > sign, ]] and ]> and café.</p>\r\n"
      i += 1
    }
    return s
  }()

  /// `body` as one CDATA section, or cut in two sections under the threshold (the same
  /// text, read by the streaming reader).
  static func sections(_ body: String, split: Bool) -> String {
    guard split else { return "<![CDATA[\(body)]]>" }
    let half = body.utf8.index(body.utf8.startIndex, offsetBy: body.utf8.count / 2)
    return "<![CDATA[\(body[..<half])]]><![CDATA[\(body[half...])]]>"
  }

  /// An RSS feed whose first description is `description`, after `prolog`.
  static func feed(_ description: String, prolog: String = "", channel: String = "") -> [UInt8] {
    Array(
      """
      <?xml version="1.0" encoding="UTF-8"?>\(prolog)
      <rss version="2.0"><channel><title>Big</title>\(channel)
      <item><title>One</title><link>http://big.test/1</link><description>\(description)</description></item>
      <item><title>Two</title><link>http://big.test/2</link><description><![CDATA[<b>small</b> & fine]]></description></item>
      </channel></rss>
      """.utf8)
  }

  /// The items with every line end LF: libxml2's streaming reader keeps a CR inside a
  /// CDATA section, its DOM parser folds it as XML says (and the article path folds CRs
  /// whichever it gets).
  static func lf(_ items: [FeedItem]) -> [FeedItem] {
    func fold(_ s: String?) -> String? {
      s?.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\r", with: "\n")
    }
    return items.map { item in
      var i = item
      i.title = fold(i.title)
      i.summary = fold(i.summary)
      i.content = fold(i.content)
      return i
    }
  }

  func expectSame(_ big: [UInt8], _ split: [UInt8], _ label: String, items: Int = 2) throws {
    let a = try FeedParser.parse(big, url: nil, contentType: nil)
    let b = try FeedParser.parse(split, url: nil, contentType: nil)
    #expect(a.entries.count == items, "\(label)")
    #expect(a.title == b.title, "\(label)")
    #expect(Self.lf(a.entries) == Self.lf(b.entries), "\(label)")
    #expect(a.bozo == b.bozo, "\(label)")
  }

  @Test func aLargeSectionReadsAsTheSameText() throws {
    let big = Self.feed(Self.sections(Self.body, split: false))
    #expect(throws: XMLError.longConstruct) { try XMLStreamReader(big) }
    try expectSame(big, Self.feed(Self.sections(Self.body, split: true)), "plain")
    let summary = try #require(
      try FeedParser.parse(big, url: nil, contentType: nil).entries.first?.summary)
    #expect(summary.utf8.count > 90_000)
    #expect(summary.contains("café"))
  }

  /// Documents a rewrite of the section (tried first) read differently: an error before
  /// the section, a DOCTYPE whose entity values hold brackets and `<![CDATA[`, text right
  /// after the section that would make `]]>`, and `<![CDATA[` in an attribute value.
  @Test func awkwardSurroundingsReadTheSame() throws {
    let cases: [(String, Int, (String) -> [UInt8])] = [
      ("error before", 2, { Self.feed($0, channel: "<link a=\"1\" a=\"2\">x</link>") }),
      (
        "entity values", 2,
        { Self.feed($0, prolog: "<!DOCTYPE rss [<!ENTITY rb \"]\"><!ENTITY open \"<![CDATA[\">]>") }
      ),
      ("]]> after", 2, { Self.feed("\($0)]]>") }),
      // A `<` in an attribute value: broken, and libxml2's recovery keeps no item.
      ("attribute", 0, { Self.feed($0, channel: "<image url=\"http://big.test/<![CDATA[\"/>") }),
    ]
    for (label, items, make) in cases {
      let body = Self.body + "a]"
      try expectSame(
        make(Self.sections(body, split: false)), make(Self.sections(body, split: true)), label,
        items: items)
    }
  }

  /// A declared encoding libxml2 does not know: the bytes are read as UTF-8 (the
  /// declaration is a typo) by both parsers. The DOM parser stopped at the declaration.
  @Test func anUnknownDeclaredEncodingReadsTheSameInBoth() throws {
    let doc = Array(
      ("<?xml version='1.0' encoding='UTD-8'?><feed xmlns='http://www.w3.org/2005/Atom'>"
        + "<title>Typo</title><entry><title>Één</title><id>t:1</id></entry></feed>").utf8)
    let a = try FeedParser.parse(doc, url: nil, contentType: nil, streaming: true)
    let b = try FeedParser.parse(doc, url: nil, contentType: nil, streaming: false)
    #expect(a.entries.map(\.title) == ["Één"])
    #expect(b.title == "Typo")
    #expect(b.entries == a.entries)
  }

  /// Random well-formed documents: the DOM parser reads what the streaming reader reads.
  /// (No CRs: the reader keeps a CR in a section, which `lf` cannot undo where a section
  /// ending in CR meets one starting with LF.)
  @Test func domAndStreamingReadTheSame() throws {
    var rng = SplitMix64(state: 7)
    let pieces = [
      "a", "<", ">", "&", "]", "]]", "]>", "é", "\n", " ", "<p>", "&amp;", "--", "?>",
    ]
    for round in 0..<300 {
      var items = ""
      for i in 0..<Int(rng.next() % 4 + 1) {
        var text = ""
        for _ in 0..<Int(rng.next() % 40) { text += pieces[Int(rng.next() % UInt64(pieces.count))] }
        text = text.replacingOccurrences(of: "]]>", with: "]] >")  // would end the section
        let cdata = "<![CDATA[\(text)]]>"
        let extra = rng.next() % 3 == 0 ? "<!-- <![CDATA[ x -->" : ""
        items +=
          "<item><title>T\(i)\(extra)</title><link>http://r.test/\(i)</link>"
          + "<description>\(cdata)\(rng.next() % 2 == 0 ? cdata : "")</description></item>"
      }
      let doc = Array(
        "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>R</title>\(items)</channel></rss>"
          .utf8)
      let a = try FeedParser.parse(doc, url: nil, contentType: nil, streaming: true)
      let b = try FeedParser.parse(doc, url: nil, contentType: nil, streaming: false)
      #expect(Self.lf(a.entries) == Self.lf(b.entries), "round \(round)")
      #expect(a.bozo == b.bozo, "round \(round)")
    }
  }
}
