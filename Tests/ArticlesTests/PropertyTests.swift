import TestSupport
import Testing

@testable import Articles

@Suite struct PropertyTests {
  static let urlPieces = [
    "http://", "https://", "HTTP://", "//", "/", "./", "../", "a", "B", "%", "%2e", "%2F", "%7e",
    "%C3%A9", "é", "?", "#", "&", "=", "utm_source=x", "fbclid=1", "id=2", ":", ":80", ":443",
    "@", "[::1]", "ex.com", "WWW.Ex.COM", " ", "\t", "\n", "(", ")", "'", "\"", "<", ">", "\\",
    "{", "|", "~", "!", ".", "..", "bücher", "例え", "+", "*", ";", ",",
  ]

  @Test func canonicalizeIsIdempotentAndAlwaysHTTP() {
    var rng = SplitMix64(state: 42)
    var accepted = 0
    for _ in 0..<1500 {
      let n = Int.random(in: 1...12, using: &rng)
      var s = ["http://", "https://", ""].randomElement(using: &rng)!
      if !s.isEmpty {
        s += ["ex.com", "Ex.COM:8080", "例え.jp", "[::1]"].randomElement(using: &rng)!
      }
      for _ in 0..<n { s += PropertyTests.urlPieces.randomElement(using: &rng)! }
      guard let c = CanonicalURL.canonicalize(s, base: "https://base.example/dir/page?q=1") else {
        continue
      }
      accepted += 1
      #expect(CanonicalURL.canonicalize(c) == c, "not idempotent: \(s.debugDescription) -> \(c)")
      #expect(CanonicalURL.isHTTPURL(c))
      #expect(c.hasPrefix("http://") || c.hasPrefix("https://"))
      #expect(!c.contains("#") || c.contains("#!"))
      let d = CanonicalURL.dedupForm(c)
      #expect(CanonicalURL.dedupForm(d) == d, "dedup form not idempotent: \(c) -> \(d)")
      #expect(!d.contains("#") && CanonicalURL.canonicalize(d) != nil, "\(c) -> \(d)")
      #expect(c.unicodeScalars.allSatisfy { $0.value > 0x20 && $0.value < 0x7F })
    }
    #expect(accepted > 500)
  }

  static let tags = [
    "p", "div", "span", "a href=\"/x\"", "a href=\"javascript:x\"", "em", "strong", "code", "pre",
    "ul", "ol", "li", "blockquote", "h2", "table", "tr", "td", "th", "br", "img src=\"/i.png\"",
    "script", "style", "iframe", "figure", "figcaption", "b", "i", "q", "del", "dl", "dt", "dd",
    "noscript", "svg", "embed", "hr", "sup", "section",
  ]
  static let texts = [
    "text", " ", "\n", "*", "_", "`", "```", "#", "1.", "- ", "> ", "[x](y)", "&lt;script&gt;",
    "javascript:", "onload=", "&amp;", "&copy;", "|", "\\", "~", "🚀", "שלום", "\u{1B}[1m",
    "  \t ", "<", "data:text/html",
  ]

  @Test func convertedBodiesAreAlwaysSafeAndTidy() {
    var rng = SplitMix64(state: 7)
    let regexes = compiledActivePatterns()
    for _ in 0..<1000 {
      var html = ""
      var open: [String] = []
      for _ in 0..<Int.random(in: 1...30, using: &rng) {
        switch Int.random(in: 0..<3, using: &rng) {
        case 0:
          let t = PropertyTests.tags.randomElement(using: &rng)!
          html += "<\(t)>"
          open.append(String(t.prefix { $0 != " " }))
        case 1 where !open.isEmpty:
          html += "</\(open.removeLast())>"
        default:
          html += PropertyTests.texts.randomElement(using: &rng)!
        }
      }
      let out = MarkdownConverter.convert(html: html, baseURL: "https://example.com/").markdown
      #expect(
        activeHTML(in: out, using: regexes) == nil, "active HTML from \(html.debugDescription)")
      #expect(!out.unicodeScalars.contains { $0.value < 0x20 && $0 != "\n" && $0 != "\t" })
      #expect(!out.contains(" \n") && !out.hasSuffix(" ") && !out.hasSuffix("\n"))
      if !out.contains("```") {
        #expect(!out.contains("\n\n\n"), "blank lines from \(html.debugDescription)")
      }
      #expect(
        MarkdownConverter.convert(html: html, baseURL: "https://example.com/").markdown == out)
    }
  }

  @Test func fileNamesAreAlwaysSafe() {
    var rng = SplitMix64(state: 3)
    for _ in 0..<1000 {
      var title = ""
      for _ in 0..<Int.random(in: 0...20, using: &rng) {
        title += (PropertyTests.texts + PropertyTests.urlPieces).randomElement(using: &rng)!
      }
      let slug = ArticleFileName.slug(title)
      #expect(!slug.isEmpty && slug.count <= 80)
      #expect(
        slug.unicodeScalars.allSatisfy {
          ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "-"
        })
      #expect(!slug.hasPrefix("-") && !slug.hasSuffix("-") && !slug.contains("--"))
    }
  }
}
