import TestSupport
import Testing

@testable import Feeds

/// A CDATA section of megabytes made libxml2's streaming reader quadratic (8 MB: 11 s of
/// one thread). Such sections are rewritten as escaped text first; what the feed says
/// must not change.
@Suite struct LargeCDATATests {
  /// An RSS feed whose first item's description is `body`, as CDATA or escaped text,
  /// after a comment and a processing instruction that mention CDATA markup.
  static func feed(_ body: String, cdata: Bool) -> [UInt8] {
    let escaped = body.replacingOccurrences(of: "&", with: "&amp;")
      .replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    let description = cdata ? "<![CDATA[\(body)]]>" : escaped
    return Array(
      """
      <?xml version="1.0" encoding="UTF-8"?>
      <!-- not a section: <![CDATA[ -->
      <?note <![CDATA[ ?>
      <rss version="2.0"><channel><title>Big</title>
      <item><title>One</title><link>http://big.test/1</link><description>\(description)</description></item>
      <item><title>Two</title><link>http://big.test/2</link><description><![CDATA[<b>small</b> & fine]]></description></item>
      </channel></rss>
      """.utf8)
  }

  static let body: String = {
    var s = ""
    var i = 0
    while s.utf8.count < 300_000 {
      s += "<p>Paragraph \(i) with &amp; an ampersand, a > sign, ]] and ]> and café.</p>\n"
      i += 1
    }
    return s
  }()

  @Test func aLargeSectionReadsAsTheSameText() throws {
    let asCDATA = try FeedParser.parse(
      Self.feed(Self.body, cdata: true), url: nil, contentType: nil)
    let asText = try FeedParser.parse(
      Self.feed(Self.body, cdata: false), url: nil, contentType: nil)
    #expect(!asCDATA.bozo)
    #expect(asCDATA.entries.map(\.title) == ["One", "Two"])
    let summary = try #require(asCDATA.entries.first?.summary)
    #expect(summary.utf8.count > 250_000)
    #expect(summary.contains("café"))
    #expect(asCDATA.entries.map(\.summary) == asText.entries.map(\.summary))
  }

  @Test func onlyRealSectionsOverTheThresholdAreFound() {
    let doc = Array(
      "<!-- <![CDATA[ --><?pi <![CDATA[ ?><a><![CDATA[12345]]><![CDATA[123]]><![CDATA[123456".utf8)
    let spans = doc.withUnsafeBufferPointer { FeedBytes.largeCDATASections($0, threshold: 4) }
    // The first real section only: the second is short, the third is unterminated.
    #expect(spans.count == 1)
    if let s = spans.first { #expect(String(decoding: doc[s], as: UTF8.self) == "12345") }
  }

  @Test func theRewriteEscapesMarkupAndKeepsTheRest() {
    var b = FeedBytes(bytes: Array("<a>x<![CDATA[<b>&]]>y</a>".utf8), encoding: "UTF-8")
    b.escapeLargeCDATA(threshold: 2)
    #expect(String(decoding: b.bytes, as: UTF8.self) == "<a>x&lt;b&gt;&amp;y</a>")
    // Another encoding: `]]>` could be half of a character there, so nothing changes.
    var sjis = FeedBytes(bytes: Array("<a><![CDATA[<b>&]]></a>".utf8), encoding: "Shift_JIS")
    sjis.escapeLargeCDATA(threshold: 2)
    #expect(String(decoding: sjis.bytes, as: UTF8.self) == "<a><![CDATA[<b>&]]></a>")
  }

  /// Random well-formed documents of many small sections: rewriting every section
  /// (threshold 0) gives the same items as parsing them as they are.
  @Test func rewritingAnySectionChangesNoItem() throws {
    var rng = SplitMix64(state: 7)
    let pieces = [
      "a", "<", ">", "&", "]", "]]", "]>", "é", "\n", "\r\n", "\r", " ", "<p>", "&amp;", "--", "?>",
    ]
    for round in 0..<300 {
      var items = ""
      for i in 0..<Int(rng.next() % 4 + 1) {
        var text = ""
        for _ in 0..<Int(rng.next() % 40) { text += pieces[Int(rng.next() % UInt64(pieces.count))] }
        // A `]]>` would end the section early (a broken document, read by recovery).
        text = text.replacingOccurrences(of: "]]>", with: "]] >")
        let cdata = "<![CDATA[\(text)]]>"
        let extra = rng.next() % 3 == 0 ? "<!-- <![CDATA[ x -->" : ""
        items +=
          "<item><title>T\(i)\(extra)</title><link>http://r.test/\(i)</link>"
          + "<description>\(cdata)\(rng.next() % 2 == 0 ? cdata : "")</description></item>"
      }
      let doc = Array(
        "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>R</title>\(items)</channel></rss>"
          .utf8)
      var rewritten = FeedBytes(bytes: doc, encoding: "UTF-8")
      rewritten.escapeLargeCDATA(threshold: 0)
      let a = try FeedParser.parse(doc, url: nil, contentType: nil)
      let b = try FeedParser.parse(rewritten.bytes, url: nil, contentType: nil)
      #expect(a.entries.map(\.title) == b.entries.map(\.title), "round \(round)")
      #expect(a.entries.map(\.summary) == b.entries.map(\.summary), "round \(round)")
      #expect(a.bozo == b.bozo, "round \(round)")
    }
  }
}
