import Testing

@testable import Articles

@Suite struct HTMLTextTests {
  @Test(arguments: [
    ("Tom &amp; Jerry", "Tom & Jerry"),
    ("&lt;b&gt;not bold&lt;/b&gt;", "<b>not bold</b>"),
    ("It&#8217;s &#x2019;quoted&rsquo; &hellip; &apos;x&apos;", "It’s ’quoted’ … 'x'"),
    ("caf&eacute; &euro;5 &nbsp;x", "café €5 x"),
    ("AT&T and a < b > c", "AT&T and a < b > c"),
  ])
  func entitiesAreDecoded(html: String, expected: String) {
    #expect(HTMLText.plainText(fromHTML: html) == expected)
  }

  @Test func tagsAreStrippedAndBlocksSeparated() {
    #expect(
      HTMLText.plainText(fromHTML: "<p>Hello <b>world</b></p><p>Second<br>line</p>")
        == "Hello world Second line")
    #expect(HTMLText.plainText(fromHTML: "<em>a</em><strong>b</strong>") == "ab")
  }

  @Test func scriptsAndStylesAreNotText() {
    #expect(
      HTMLText.plainText(fromHTML: "Title<script>alert('x')</script><style>p{}</style> end")
        == "Title end")
  }

  @Test func whitespaceIsFoldedAndControlsDropped() {
    #expect(HTMLText.foldWhitespace("  a \n\t b\r\n\u{C}c\u{A0}\u{A0}d  ") == "a b c d")
    #expect(HTMLText.foldWhitespace("red\u{1B}[31m\u{7}\u{9B}x\u{FEFF}\u{7F}") == "red[31mx")
  }

  /// Unicode spaces and line separators are the source's text: the hostile server's
  /// YAML titles expect U+0085 and U+2028 to survive into the front matter.
  @Test func nonASCIISpacesAndSeparatorsAreKept() {
    let title = "a\u{2003}c unicode line\u{2028}separator next line\u{85}char"
    #expect(HTMLText.foldWhitespace(title) == title)
    #expect(HTMLText.plainText(fromHTML: title + " &amp;") == title + " &")
    #expect(HTMLText.plainText(fromHTML: "plain  text\nonly") == "plain text only")
  }

  @Test func shortTextIsItsOwnExcerpt() {
    #expect(HTMLText.excerpt(fromHTML: "<p>Short one.</p>") == "Short one.")
  }

  @Test func excerptCutsAtASentenceEnd() {
    let text = "First sentence is here. " + String(repeating: "More words follow. ", count: 30)
    let e = HTMLText.excerpt(fromText: text, maxLength: 100)
    #expect(e.count <= 100)
    #expect(e.hasSuffix("follow."))
    #expect(text.hasPrefix(e))
  }

  @Test func excerptCutsAtAWordBoundaryWithEllipsis() {
    let text = String(repeating: "word, ", count: 100)
    let e = HTMLText.excerpt(fromText: text, maxLength: 50)
    #expect(e.count <= 50)
    #expect(e.hasSuffix("word…"))
  }

  @Test func excerptOfOneLongWordIsCutHard() {
    let e = HTMLText.excerpt(fromText: String(repeating: "x", count: 400), maxLength: 300)
    #expect(e.count == 300 && e.hasSuffix("…"))
  }

  @Test func excerptDefaultsToAbout300Characters() {
    let e = HTMLText.excerpt(
      fromHTML: "<p>" + String(repeating: "lorem ipsum ", count: 100) + "</p>")
    #expect(e.count <= 300 && e.count > 250)
  }
}

/// Fragments from a feed are parsed up to `maxHTMLBytes`, cut before a tag or after a
/// whole character, so a body of millions of elements costs what a megabyte costs.
@Test func htmlFragmentsAreBoundedBeforeParsing() throws {
  let max = HTMLText.maxHTMLBytes
  #expect(HTMLText.boundedBytes("<p>short</p>") == Array("<p>short</p>".utf8))
  let list = "<ul>" + String(repeating: "<li>item</li>", count: 2 * max / 13) + "</ul>"
  let cut = HTMLText.boundedBytes(list)
  #expect(cut.count <= max && cut.count > max - 13)
  #expect(cut.last == UInt8(ascii: ">"))
  let text = String(repeating: "é€😀", count: max / 4)
  let cutText = HTMLText.boundedBytes(text)
  #expect(cutText.count <= max && cutText.count > max - 9)
  #expect(String(validating: cutText, as: UTF8.self) != nil)
  let md = MarkdownConverter.convert(html: list, baseURL: nil).markdown
  #expect(md.hasPrefix("- item\n") && md.utf8.count < max)
  #expect(HTMLText.plainText(fromHTML: list).utf8.count < max)
}

/// Characters of thousands of combining marks each: an excerpt is held to
/// `bytesPerCharacterCap` bytes per character of its length, cut between scalars.
@Test func excerptsAreBoundedInBytesToo() {
  let heavy = String(repeating: "a" + String(repeating: "\u{301}", count: 4000), count: 290)
  #expect(heavy.count == 290 && heavy.utf8.count > 2_000_000)
  let e = HTMLText.excerpt(fromText: heavy, maxLength: 300)
  #expect(e.utf8.count <= HTMLText.bytesPerCharacterCap * 300)
  #expect(e.unicodeScalars.starts(with: "a\u{301}\u{301}".unicodeScalars))
  let cjk = String(repeating: "漢字", count: 100)  // 600 bytes, 200 characters: kept whole
  #expect(HTMLText.excerpt(fromText: cjk, maxLength: 300) == cjk)
}

/// A `<` that opens no tag is text, as HTML has it: YAML-looking titles such as
/// `<<: *x` keep every character; real tags are still stripped.
@Test func aLessThanThatOpensNoTagIsText() {
  #expect(HTMLText.plainText(fromHTML: "<<: *x") == "<<: *x")
  #expect(HTMLText.plainText(fromHTML: "a < b, 3 <= 4, <3") == "a < b, 3 <= 4, <3")
  #expect(HTMLText.plainText(fromHTML: "<b>bold</b> <i>move</i>") == "bold move")
  #expect(HTMLText.plainText(fromHTML: "x <!-- c --> y") == "x y")
  let md = MarkdownConverter.convert(html: "<p>if x << 2 and y <= 3</p>", baseURL: nil).markdown
  #expect(
    md.contains("x &lt;&lt; 2") || md.contains("x << 2") || md.contains("x \\<\\< 2"), "\(md)")
}
