import Foundation
import Testing

@testable import Articles

func md(_ html: String, base: String? = "https://example.com/news/story.html") -> String {
  MarkdownConverter.convert(html: html, baseURL: base).markdown
}

/// The spool checker's patterns for active HTML in a body (hostile/check_spool.py).
let activePatterns: [String] = [
  #"(?i)<\s*script\b"#, #"(?i)<\s*(iframe|object|embed|base|frame|frameset|applet)\b"#,
  #"(?i)<[^>]*\son[a-z]+\s*="#, #"(?i)(java|vb)script\s*:"#, #"(?i)data\s*:\s*text/html"#,
  #"(?i)<\s*meta[^>]*http-equiv\s*=\s*["']?refresh"#,
]

func activeHTML(in body: String) -> String? {
  activeHTML(in: body, using: compiledActivePatterns())
}

func compiledActivePatterns() -> [Regex<AnyRegexOutput>] {
  activePatterns.map { try! Regex($0) }
}

func activeHTML(in body: String, using regexes: [Regex<AnyRegexOutput>]) -> String? {
  for r in regexes {
    if let m = body.firstMatch(of: r) { return String(body[m.range]) }
  }
  return nil
}

@Suite struct MarkdownConverterTests {
  /// Quotes and lists nested past `maxNesting` read as their parent's blocks: every level
  /// re-indented everything inside it (100 levels around 8,000 paragraphs: 100 s).
  @Test func deepQuotesAndListsStopIndentingAtTheCap() {
    let deep = 50
    let quotes = md(
      String(repeating: "<blockquote>", count: deep) + "<p>inner</p>"
        + String(repeating: "</blockquote>", count: deep))
    let prefix = String(repeating: "> ", count: Renderer.maxNesting)
    #expect(quotes == prefix + "inner")
    let lists = md(
      String(repeating: "<ul><li>", count: deep) + "leaf"
        + String(repeating: "</li></ul>", count: deep))
    let lines = lists.split(separator: "\n")
    #expect(lines.last?.hasSuffix("leaf") == true)
    #expect((lines.map { $0.prefix { $0 == " " }.count }.max() ?? 0) <= 2 * Renderer.maxNesting)
    #expect(md("<blockquote><blockquote><p>two</p></blockquote></blockquote>") == "> > two")
  }

  @Test func paragraphsAreSeparatedByOneBlankLine() {
    #expect(md("<p>One\n  two</p>\n\n<p>Three</p><div>Four</div>") == "One two\n\nThree\n\nFour")
  }

  @Test func headingsUseHashes() {
    #expect(
      md("<h1>Big <em>news</em></h1><h3>Small\nhead</h3><p>x</p>")
        == "# Big *news*\n\n### Small head\n\nx")
  }

  @Test func unorderedListsNestAndStayTight() {
    let html =
      "<ul><li>one</li><li>two<ul><li>two.a</li><li>two.b<ol><li>deep</li></ol></li></ul></li><li>three</li></ul>"
    #expect(md(html) == "- one\n- two\n  - two.a\n  - two.b\n    1. deep\n- three")
  }

  @Test func orderedListsKeepTheirStart() {
    #expect(
      md("<ol start=\"9\"><li>nine</li><li>ten</li><li>eleven</li></ol>")
        == "9. nine\n10. ten\n11. eleven")
  }

  @Test func listItemsWithParagraphsMakeALooseList() {
    #expect(md("<ul><li><p>a</p><p>a2</p></li><li>b</li></ul>") == "- a\n\n  a2\n\n- b")
  }

  @Test func adjacentListsStaySeparateLists() {
    #expect(md("<ul><li>a</li></ul><ul><li>b</li></ul><ul><li>c</li></ul>") == "- a\n\n* b\n\n- c")
    #expect(md("<ol><li>a</li></ol><ol><li>b</li><li>c</li></ol>") == "1. a\n\n1) b\n2) c")
    #expect(md("<ul><li>a</li></ul><p>p</p><ul><li>b</li></ul>") == "- a\n\np\n\n- b")
    #expect(
      md("<ul><li>x<ul><li>a</li></ul><ul><li>b</li></ul></li></ul>") == "- x\n  - a\n  * b")
  }

  @Test func blockquotesArePrefixed() {
    #expect(md("<blockquote><p>said</p><p>more</p></blockquote>") == "> said\n>\n> more")
    #expect(
      md("<blockquote>outer<blockquote>inner</blockquote></blockquote>") == "> outer\n>\n> > inner")
  }

  @Test func preKeepsItsWhitespaceInAFence() {
    let html =
      "<pre><code class=\"language-python\">def f(x):\n    if x &lt; 2:\n\n        return  x\n</code></pre>"
    #expect(md(html) == "```python\ndef f(x):\n    if x < 2:\n\n        return  x\n```")
  }

  @Test func codeFenceIsLongerThanBackticksInside() {
    #expect(md("<pre>use ``` here</pre>") == "````\nuse ``` here\n````")
  }

  @Test func inlineCodeIsNotEscaped() {
    #expect(md("<p>Run <code>a_b * c</code> or <code>x`y</code></p>") == "Run `a_b * c` or ``x`y``")
  }

  @Test func emphasisAndStrong() {
    #expect(
      md("<p><em>it</em> <strong>bold</strong> <b>b </b>x <del>gone</del></p>")
        == "*it* **bold** **b** x ~~gone~~")
  }

  @Test func linksAreAbsoluteAndLoseTracking() {
    #expect(
      md("<p><a href=\"../other.html?utm_source=rss&amp;id=3\">other</a></p>")
        == "[other](https://example.com/other.html?id=3)")
    #expect(
      md("<p><a href=\"https://x.org/wiki/A_(b)\">w</a></p>") == "[w](https://x.org/wiki/A_\\(b\\))"
    )
  }

  @Test func baseHrefOfTheDocumentIsUsed() {
    let html =
      "<html><head><base href=\"/root/\"></head><body><p><a href=\"a\">a</a> <img src=\"i.png\"></p></body></html>"
    #expect(md(html) == "[a](https://example.com/root/a) ![](https://example.com/root/i.png)")
  }

  @Test func imagesAreAbsoluteWithAltAndListed() {
    let r = MarkdownConverter.convert(
      html:
        "<p><img src=\"/i/a.jpg\" alt=\"A [cat]\" width=\"640\" height=\"480\"><img data-src=\"b.png\" src=\"data:image/gif;base64,R0\"> <img src=\"/i/a.jpg\"></p>",
      baseURL: "https://example.com/p/")
    #expect(
      r.markdown
        == "![A \\[cat\\]](https://example.com/i/a.jpg)![](https://example.com/p/b.png) ![](https://example.com/i/a.jpg)"
    )
    #expect(
      r.images == [
        .init(url: "https://example.com/i/a.jpg", width: 640, height: 480),
        .init(url: "https://example.com/p/b.png"),
      ])
  }

  @Test func noscriptGivesOnlyImagesNotAlreadyShown() {
    let html = """
      <p><img class="lazy" src="data:image/gif;base64,R0"><noscript><img src="/real.jpg" alt="Real">
      text in noscript</noscript></p>
      <p><img data-src="/a.jpg"><noscript><img src="/a.jpg"></noscript></p>
      <noscript><img src="https://px.example/tr?id=1" width="1" height="1"></noscript>
      """
    let r = MarkdownConverter.convert(html: html, baseURL: "https://example.com/")
    #expect(r.markdown == "![Real](https://example.com/real.jpg)\n\n![](https://example.com/a.jpg)")
    #expect(r.images.map(\.url) == ["https://example.com/real.jpg", "https://example.com/a.jpg"])
  }

  @Test func trackingPixelsAndUnsafeImagesAreDropped() {
    let r = MarkdownConverter.convert(
      html:
        "<p>x<img src=\"https://t.example/px.gif\" width=\"1\" height=\"1\"><img src=\"javascript:alert(1)\"><img src=\"data:text/html,x\"></p>",
      baseURL: nil)
    #expect(r.markdown == "x")
    #expect(r.images.isEmpty)
  }

  @Test func simpleTablesBecomePipeTables() {
    let html =
      "<table><thead><tr><th>Name</th><th>Value</th></tr></thead><tbody><tr><td>a|b</td><td><code>x|y</code></td></tr><tr><td>only</td></tr></tbody></table>"
    #expect(md(html) == "| Name | Value |\n| --- | --- |\n| a\\|b | `x\\|y` |\n| only |   |")
  }

  /// A table is padded to its widest row, so one wide row over many short ones is written
  /// as its cells' blocks past `maxTableCells` (8,000 by 8,000 made a 256 MB article).
  @Test func raggedTablesDoNotMultiply() {
    let wide = "<tr>" + String(repeating: "<td>a</td>", count: 2_000) + "</tr>"
    let html =
      "<table>" + wide + String(repeating: "<tr><td>b</td></tr>", count: 2_000) + "</table>"
    let out = md(html)
    #expect(out.utf8.count < 4 * html.utf8.count)
    #expect(!out.contains("| --- |"))
    #expect(out.hasPrefix("a\n\na"))
  }

  @Test func complexTablesBecomeText() {
    let html =
      "<table><tr><td colspan=\"2\">wide</td></tr><tr><td><ul><li>x</li></ul></td><td>y</td></tr></table>"
    #expect(md(html) == "wide\n\n- x\n\ny")
  }

  @Test func figureCaptionsAreItalicUnderTheImage() {
    #expect(
      md(
        "<figure><img src=\"/f.jpg\" alt=\"f\"><figcaption>The <b>caption</b></figcaption></figure>"
      )
        == "![f](https://example.com/f.jpg)\n\n*The **caption***")
  }

  @Test func lineBreaksAreHardBreaksAndTwoMakeAParagraph() {
    #expect(md("<p>one<br>two<br/><br>three<br></p>") == "one\\\ntwo\n\nthree")
  }

  @Test func horizontalRuleAndDefinitionLists() {
    #expect(
      md("<p>a</p><hr><dl><dt>Term</dt><dd>Meaning</dd></dl>")
        == "a\n\n* * *\n\n**Term**\n\nMeaning")
  }

  @Test(arguments: [
    ("a * b _c_ [d] `e` \\ ~f~", "a \\* b \\_c\\_ \\[d\\] \\`e\\` \\\\ \\~f\\~"),
    ("# not a heading", "\\# not a heading"),
    ("> not a quote", "\\> not a quote"),
    ("- not a list", "\\- not a list"),
    ("+ not a list", "\\+ not a list"),
    ("2024. A year", "2024\\. A year"),
    ("x &amp;copy; y & z", "x &amp;copy; y & z"),
    ("&lt;b&gt;bold?&lt;/b&gt;", "&lt;b>bold?&lt;/b>"),
  ])
  func markdownMetacharactersInTextAreEscaped(html: String, expected: String) {
    #expect(md("<p>\(html)</p>") == expected)
  }

  @Test func droppedElementsLeaveNothing() {
    let html = """
      <p>keep</p><script>alert(1)</script><style>p{color:red}</style><noscript>ns</noscript>
      <iframe src="https://evil.example/"></iframe><object data="x">obj</object><embed src="y">
      <form><p>form text</p><button>Click</button><input value="v"></form><svg><text>svg</text></svg>
      <template><p>tpl</p></template><div hidden>h1</div><span aria-hidden="true">h2</span>
      <div style="display: none">h3</div><p>end</p>
      """
    #expect(md(html) == "keep\n\nend")
  }

  @Test func unsafeLinksKeepTheirTextOnly() {
    let html = """
      <p><a href="javascript:alert(1)">a</a> <a href=" JaVaScRiPt:alert(1)">b</a>
      <a href="data:text/html;base64,PHNjcmlwdD4=">c</a> <a href="vbscript:msgbox">d</a>
      <a href="#frag">e</a> <a href="file:///etc/passwd">f</a>
      <a href="https://ok.example/?next=javascript:alert(1)">g</a> <a href="mailto:me@example.com">h</a></p>
      """
    #expect(md(html) == "a b c d e f g [h](mailto:me@example.com)")
  }

  @Test func relativeLinksWithoutABaseLoseTheLink() {
    #expect(md("<p><a href=\"/x\">x</a> <img src=\"/y.png\"></p>", base: nil) == "x")
  }

  /// 16 forms of script injection a feed can carry; none may leave active HTML behind,
  /// and the visible text must survive.
  @Test(arguments: [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
    "<img src=x onerror=alert(1)>",
    "<svg onload=alert(1)></svg>",
    "<body onload=alert(1)>",
    "<a href=\"javascript:alert(1)\">click</a>",
    "<a href=\"jav&#x09;ascript:alert(1)\">tab</a>",
    "<iframe src=\"javascript:alert(1)\"></iframe>",
    "<object data=\"data:text/html;base64,PHNjcmlwdD4=\"></object>",
    "<embed src=\"data:text/html,<script>alert(1)</script>\">",
    "<meta http-equiv=\"refresh\" content=\"0;url=javascript:alert(1)\">",
    "<base href=\"javascript:alert(1)//\">",
    "&lt;script&gt;alert(1)&lt;/script&gt;",
    "&lt;img src=x onerror=alert(1)&gt;",
    "<pre>&lt;iframe src=x onload=alert(1)&gt;&lt;/iframe&gt; javascript:void(0)</pre>",
    "<code>&lt;script&gt;x&lt;/script&gt; vbscript : y data:text/html,z</code>",
    "<div style=\"background:url(javascript:alert(1))\">styled</div>",
    "<math><maction actiontype=\"statusline\" xlink:href=\"javascript:alert(1)\">m</maction></math>",
  ])
  func scriptInjectionNeverReachesTheBody(attack: String) {
    let body = md("<p>before</p>" + attack + "<p>after</p>")
    #expect(activeHTML(in: body) == nil, "active HTML left: \(body.debugDescription)")
    #expect(body.hasPrefix("before") && body.hasSuffix("after"))
    #expect(!body.contains("<script") && !body.contains("<iframe"))
  }

  @Test func escapedAttackStaysVisibleAsText() {
    let body = md("<p>Never type &lt;script&gt; or javascript:alert(1) here</p>")
    #expect(
      body.replacingOccurrences(of: "\u{200B}", with: "")
        == "Never type &lt;script> or javascript:alert(1) here")
    #expect(activeHTML(in: body) == nil)
  }

  @Test func outputHasNoTrailingSpacesAndNoDoubleBlankLines() {
    let html =
      "<div><p>a  </p>\n\n\n<p> </p><div></div><p>b<br> </p><pre>code   \n\n\n\nmore  </pre><ul><li> x </li></ul></div>"
    let out = md(html)
    #expect(!out.contains(" \n") && !out.hasSuffix(" "))
    #expect(out == "a\n\nb\n\n```\ncode\n\n\n\nmore\n```\n\n- x")
  }

  @Test func controlCharactersNeverReachTheBody() {
    let out = md("<p>red\u{1B}[31m bell\u{7} \u{9B}2J</p><pre>a\u{1B}b\u{0C}</pre>")
    #expect(!out.unicodeScalars.contains { $0.value < 0x20 && $0 != "\n" })
    #expect(out == "red\\[31m bell 2J\n\n```\nab\n```")
  }

  @Test func outputIsDeterministic() {
    let html =
      "<h2>T</h2><p>a <a href=\"/b\">b</a></p><ul><li>c</li></ul><table><tr><th>x</th><th>y</th></tr></table>"
    #expect(md(html) == md(html))
  }

  /// libxml2 2.9 does not know `embed`, `source` and `track` as void elements and nests
  /// what follows inside them: that text must not be lost with the element.
  @Test func textAfterVoidElementsLibxml2NestsIsKept() {
    #expect(md("<p>a</p><embed src=\"x.swf\"><p>b</p>") == "a\n\nb")
    #expect(
      md("<picture><source srcset=\"/a.webp\"><img src=\"/a.jpg\"></picture><p>c</p>")
        == "![](https://example.com/a.jpg)\n\nc")
    #expect(md("<video><track src=\"t.vtt\"></video><p>d</p>") == "d")
  }

  @Test func wholeDocumentsUseTheirBody() {
    let html =
      "<!DOCTYPE html><html><head><title>Head title</title><style>x{}</style></head><body><article><h1>H</h1><p>Text</p></article></body></html>"
    #expect(md(html) == "# H\n\nText")
  }

  @Test func bytesInADeclaredEncoding() {
    let latin1: [UInt8] = Array("<p>caf".utf8) + [0xE9] + Array("</p>".utf8)
    let r = MarkdownConverter.convert(bytes: latin1, baseURL: nil, encoding: "ISO-8859-1")
    #expect(r.markdown == "café")
  }

  @Test func utf8PagesWithALateCharsetAreReadAsUTF8() {
    let page =
      "<html><head></head><body><!-- Código de banner --><meta charset=\"utf-8\">"
      + "<p>Vitórias — “quoted” 🚀</p></body></html>"
    let r = MarkdownConverter.convert(bytes: Array(page.utf8), baseURL: nil)
    #expect(r.markdown == "Vitórias — “quoted” 🚀")
  }

  @Test func inlineWrappersAroundBlocksAreDropped() {
    #expect(
      md("<a href=\"/x\"><div>card title</div><p>card text</p></a>") == "card title\n\ncard text")
    #expect(md("<span><p>a</p><p>b</p></span>") == "a\n\nb")
  }

  @Test func spacesMoveOutsideEmphasis() {
    #expect(md("<p>a<em> b </em>c<strong></strong>d</p>") == "a *b* cd")
  }

  @Test func deeplyNestedInputIsBounded() {
    let html =
      String(repeating: "<div><span>", count: 5000) + "deep"
      + String(repeating: "</span></div>", count: 5000)
    _ = md(html)  // must not crash or hang
  }
}
