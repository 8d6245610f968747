import Foundation
import Testing

@testable import XML

func tempFile(_ name: String, _ contents: String) throws -> String {
  let dir = FileManager.default.temporaryDirectory.appendingPathComponent(
    "xmltests-\(UUID().uuidString)")
  try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
  let path = dir.appendingPathComponent(name).path
  try contents.write(toFile: path, atomically: true, encoding: .utf8)
  return path
}

@Suite struct XMLSafetyTests {
  /// libxml2's tree takes about 175 bytes an element: millions of tiny elements in a
  /// feed of a few megabytes took 420 MB. Documents over the limits are refused before
  /// libxml2 builds anything.
  @Test func tooManyElementsAreRefusedBeforeParsing() throws {
    let wide = Array(
      ("<rss><channel><item><title>a</title><description>"
        + String(repeating: "<a/>", count: LibXML.maxNodesPerItem + 10)
        + "</description></item></channel></rss>").utf8)
    #expect(throws: XMLError.tooManyElements) { try XMLStreamReader(wide) }
    // As many elements spread over small items stream; the DOM parser counts them all.
    let spread = Array(
      ("<rss><channel>"
        + String(repeating: "<item><title>t</title><a/><a/><a/></item>", count: 190_000)
        + "</channel></rss>").utf8)
    let counts = LibXML.measure(spread, html: false)
    #expect(counts.nodes == 190_000 * 5 + 2)
    #expect(counts.largestItem == 5)
    _ = try XMLStreamReader(spread)
    #expect(throws: XMLError.tooManyElements) { try XMLDocument.parseXML(spread) }
    #expect(throws: XMLError.tooManyElements) { try XMLDocument.parseHTML(spread) }
  }

  @Test func elementsAreCountedOutsideCDATACommentsAndInstructions() {
    let doc = Array(
      ("<feed><atom:entry><t/></atom:entry><!-- <a><b><c> --><entry>"
        + "<![CDATA[<p><p><p>]]><?pi <q><r>?><x/><y/></entry></feed>").utf8)
    let counts = LibXML.measure(doc, html: false)
    #expect(counts.nodes == 9)  // feed, atom:entry, t, comment, entry, CDATA, PI, x, y
    #expect(counts.largestItem == 5)  // entry, CDATA, PI, x, y
  }

  /// Text that only looks like markup is not measured as markup. A real page's inline
  /// script (`for(i=0;i<arguments.length;...` and thousands of tokens before the next
  /// `>`) was refused as an element with too many attributes, and the article was lost.
  @Test func scriptAndStyleContentIsTextForTheHTMLParser() throws {
    let code =
      "for(var i=0;i<arguments.length;i++){"
      + String(repeating: " f(a, b, c); ", count: 2000) + "}"
    let page = Array(
      ("<html><head><style>p<b c d e</style><SCRIPT type=\"x\">\(code)</Script></head>"
        + "<body><p>Kept text</p></body></html>").utf8)
    let counts = LibXML.measure(page, html: true)
    #expect(counts.mostAttributes == 1)  // type
    #expect(counts.nodes == 8)  // html, head, style, SCRIPT, its type, body, p, </p>
    let doc = try XMLDocument.parseHTML(page)
    #expect(doc.root?.name == "html")
    // XML has no raw text elements: there the script's `<arguments` is a start tag.
    #expect(LibXML.measure(page, html: false).nodes > counts.nodes)
    // `<script/>` is empty for libxml2's HTML parser, so what follows is markup.
    let after = Array(
      "<script/><p \(String(repeating: " x", count: 5000))>text</p></script>".utf8)
    #expect(throws: XMLError.tooManyAttributes) { try XMLDocument.parseHTML(after) }
  }

  /// Attributes are counted by libxml2's grammar: a quote opens a value only after `=`
  /// (an unquoted `Don't` in a real page's <meta> made the rest of the page count as
  /// its attributes), and a quoted value needs no space after it (`a0=""a1=""` hid
  /// 60,000 attributes that took libxml2 27 s).
  @Test func attributesAreCountedAsLibXML2ReadsThem() throws {
    let words = String(repeating: "word, ", count: 1500)
    let page = Array(
      ("<html><head><meta name=description content=Don't-Look-Up-review>"
        + "<script type=\"application/ld+json\">{\"headline\": \"It's\", \"body\": \"\(words)\"}</script>"
        + "</head><body><p>Text it's \(words)</p></body></html>").utf8)
    #expect(LibXML.measure(page, html: true).mostAttributes == 2)
    #expect(try XMLDocument.parseHTML(page).root?.name == "html")
    let many = 5000
    let hidden: [String] = [
      "<p " + (0..<many).map { "a\($0)=\"\"" }.joined() + ">",  // glued
      "<img alt=don't " + String(repeating: "x ", count: many) + "'>",  // quote inside a value
      "<p a\"b=1 " + String(repeating: "x ", count: many) + "\">",
      "<!-- c --!><p " + String(repeating: "x ", count: many) + "> -->",  // --!> ends it
      "<div><script></div><p " + String(repeating: "x ", count: many) + "></script>",
    ]
    for doc in hidden {
      #expect(throws: XMLError.tooManyAttributes, "\(doc.prefix(30))") {
        try XMLDocument.parseHTML(Array(doc.utf8))
      }
    }
  }

  /// Markup the measure once skipped although libxml2 reads it: names starting with a
  /// non-ASCII letter or ':', a `<![CD` that opens no CDATA section, a `<?` that opens
  /// no processing instruction. And attributes count as nodes: elements of 1,000
  /// attributes each took 422 MB within the element limit.
  @Test func everyNodeLibXML2BuildsIsCounted() {
    let n = 1000
    for (doc, nodes) in [
      ("<r>" + String(repeating: "<é/>", count: n) + "</r>", n + 1),
      ("<r>" + String(repeating: "<:b/>", count: n) + "</r>", n + 1),
      ("<r><![CDz " + String(repeating: "<a/>", count: n) + "]]></r>", n + 1),
      ("<r><? " + String(repeating: "<a/>", count: n) + "?></r>", n + 1),
      ("<r><?pi " + String(repeating: "<a/>", count: n) + "?></r>", 2),
      ("<r " + String(repeating: "a=\"1\" ", count: 5) + "/>", 6),
    ] {
      #expect(LibXML.measure(Array(doc.utf8), html: false).nodes == nodes, "\(doc.prefix(12))")
    }
    let attributes = String(
      repeating: "<a " + (0..<999).map { "a\($0)=\"\"" }.joined(separator: " ") + "/>", count: 500)
    #expect(throws: XMLError.tooManyElements) {
      try XMLDocument.parseXML(Array(("<r>" + attributes + "</r>").utf8))
    }
  }

  /// Found by a second review: libxml2 reads 100 bytes of an HTML name and the rest as
  /// more attributes (99,000 of them in one "name": 51 s); a quote after a name that
  /// `=` does not follow opens no value; in XML a '<' or U+FFFE ends an attribute value,
  /// a comment, a CDATA section or an instruction, and `<?` opens an instruction only
  /// before a name.
  @Test func moreOfLibXML2sGrammarIsFollowed() throws {
    let chunk = String(repeating: "a", count: 100)
    let longName = Array(("<div " + String(repeating: chunk, count: 2000) + ">x</div>").utf8)
    #expect(throws: XMLError.tooManyAttributes) { try XMLDocument.parseHTML(longName) }
    let quote = Array(("<a x\"=\">" + String(repeating: "<br>", count: 1000)).utf8)
    #expect(LibXML.measure(quote, html: true).nodes == 1002)  // a, x, 1,000 br
    let hidden = String(repeating: "<a/>", count: 1000)
    for (doc, nodes) in [
      ("<r><x a=\"1" + hidden + "\"/></r>", 1003),  // r, x, its a, 1,000 a
      ("<r><?. " + hidden + "?></r>", 1001),
      ("<r><!-- \u{FFFE}" + hidden + " --></r>", 1002),
      ("<r><![CDATA[\u{FFFF}" + hidden + "]]></r>", 1002),
      ("<r><?pi \u{FFFE}" + hidden + "?></r>", 1002),
    ] {
      #expect(LibXML.measure(Array(doc.utf8), html: false).nodes == nodes, "\(doc.prefix(12))")
    }
  }

  /// The streaming reader holds each child of the root (but `channel`) and each child of
  /// `channel` whole, whatever `item` tags hide inside it; and it is not given a construct
  /// over 64 KiB (it is quadratic in its length: a 9 MB attribute value ran past a
  /// minute), which the DOM parser then reads.
  @Test func theStreamingReaderGetsWhatItCanHoldAndRead() throws {
    let split =
      "<rss><channel><x>" + String(repeating: "<a/><item/>", count: 1000) + "</x></channel></rss>"
    #expect(LibXML.measure(Array(split.utf8), html: false).largestItem == 2001)
    let long =
      "<rss version=\"2.0\"><channel><title>T</title><item><title t=\""
      + String(repeating: ">", count: 70_000)
      + "\">One</title><link>https://a.example/1</link></item></channel></rss>"
    #expect(throws: XMLError.longConstruct) { try XMLStreamReader(Array(long.utf8)) }
    let doc = try XMLDocument.parseXML(Array(long.utf8))
    #expect(doc.wellFormed)
  }

  /// The longest construct is what libxml2 reads as one: a CDATA section to its `]]>` (or
  /// the end), a `<![CDATA[` inside a comment only as part of the comment.
  @Test func theLongestConstructIsTheOneLibxml2Reads() {
    func longest(_ s: String) -> Int { LibXML.measure(Array(s.utf8), html: false).longestConstruct }
    #expect(longest("<a><![CDATA[12345]]></a>") == 17)
    #expect(longest("<a><![CDATA[1234]]><![CDATA[1234]]></a>") == 16)
    #expect(longest("<a><![CDATA[123456") == 15)  // unterminated: to the end
    #expect(longest("<!-- <![CDATA[ --><a>x</a><![CDATA[12]]>") == 18)
    #expect(longest("<a>123456789</a>") == 2)  // to the tag's `>`
    #expect(longest("<a t=\"1234567\">x</a>") == 14)
  }

  /// Found by a second review: a lone UTF-16 surrogate skipped one byte and turned the
  /// rest of the page into CJK; EUC-JP pages hold NEC's ① (read as EUC-JP-MS); an XML
  /// document with no encoding given is converted from the one it declares.
  @Test func conversionKeepsAlignmentAndFollowsTheDeclaration() throws {
    var utf16: [UInt8] = []
    for unit in "<p>a".utf16 { utf16 += [UInt8(unit & 0xFF), UInt8(unit >> 8)] }
    utf16 += [0x00, 0xD8]  // a lone high surrogate
    for unit in "b</p>".utf16 { utf16 += [UInt8(unit & 0xFF), UInt8(unit >> 8)] }
    #expect(try XMLDocument.parseHTML(utf16, encoding: "UTF-16LE").root?.text == "a\u{FFFD}b")
    let eucjp = Array("<r>".utf8) + [0xAD, 0xA1] + Array("</r>".utf8)
    #expect(try XMLDocument.parseXML(eucjp, encoding: "EUC-JP").root?.text == "①")
    let utf7 =
      "<?xml version=\"1.0\" encoding=\"UTF-7\"?>"
      + "<r>\(String(repeating: "<a/>", count: 1000))</r>".replacingOccurrences(
        of: "<", with: "+ADw-"
      )
      .replacingOccurrences(of: ">", with: "+AD4-")
    let declared = LibXML.decode(Array(utf7.utf8), encoding: nil, xml: true)
    #expect(declared.encoding == "UTF-8")
    #expect(LibXML.measure(declared.bytes, html: false).nodes == 1002)  // with the declaration
  }

  /// Found by a code review: a comment opener inside a declaration's quoted literal hid
  /// the rest of the document; XML tags that break off (a byte that starts no
  /// attribute, an unquoted value) end there and the `<`s after them are tags; control
  /// characters end XML comments; HTML names are ASCII (a non-ASCII byte is skipped to
  /// the next space, and the words after it are attributes); an Atom `channel` is held
  /// whole; comments, instructions, entity references and HTML's stray `</p>` are nodes.
  @Test func whatLibXML2ReadsAfterBrokenMarkupIsCounted() {
    let k = 1000
    let a = String(repeating: "<a/>", count: k)
    for (doc, nodes) in [
      ("<!DOCTYPE rss SYSTEM \"<!--\"><rss>" + a + "</rss>", k + 1),
      ("<!DOCTYPE r [<!ENTITY e \"<!--\">]><r>" + a + "</r>", k + 1),
      ("<r><x =" + String(repeating: "<a", count: k) + "></r>", k + 2),
      ("<r><x a=" + String(repeating: "<a", count: k) + "></r>", k + 3),
      ("<r><!--\u{01}" + a + "--></r>", k + 2),
      ("<r>" + String(repeating: "&e;", count: k) + "&amp;&#60;</r>", k + 1),
    ] {
      #expect(LibXML.measure(Array(doc.utf8), html: false).nodes == nodes, "\(doc.prefix(16))")
    }
    let words = (2...50).map { "a\($0)" }.joined(separator: " ")
    #expect(LibXML.measure(Array("<p é=\"a1 \(words)\">".utf8), html: true).mostAttributes == 49)
    let long = String(repeating: "n", count: 100) + "-=\"a1 \(words)\""
    #expect(LibXML.measure(Array("<p \(long)>".utf8), html: true).mostAttributes == 50)
    let atom = "<feed><channel>" + a + "</channel></feed>"
    #expect(LibXML.measure(Array(atom.utf8), html: false).largestItem == k + 1)
    let stray = "<html><body>" + String(repeating: "x</p>", count: k)
    #expect(LibXML.measure(Array(stray.utf8), html: true).nodes == k + 2)
    let comments = String(repeating: "<!---->", count: 50_000)
    #expect(LibXML.measure(Array(comments.utf8), html: true).nodes == 50_000)
  }

  /// libxml2's HTML parser reads the tags inside `<![CDATA[` (it has no CDATA
  /// sections), so for it they count.
  @Test func cdataSectionsHoldElementsForTheHTMLParser() {
    let page = Array(
      ("<p><![CDATA[" + String(repeating: "<a/>", count: LibXML.maxNodes + 10) + "]]></p>")
        .utf8)
    #expect(LibXML.measure(page, html: false).nodes == 2)  // p, the CDATA section
    #expect(LibXML.measure(page, html: true).nodes == LibXML.maxNodes + 12)  // and </p>
    #expect(throws: XMLError.tooManyElements) { try XMLDocument.parseHTML(page) }
  }

  /// In UTF-7 `+ADw-` is `<`: markup the byte measure cannot see unless the document is
  /// converted first. 2.4 million elements written so took 460 MB.
  @Test func markupIsMeasuredAfterDecoding() throws {
    func utf7(_ s: String) -> [UInt8] {
      Array(
        s.replacingOccurrences(of: "<", with: "+ADw-").replacingOccurrences(of: ">", with: "+AD4-")
          .utf8)
    }
    let small = utf7("<rss><channel><item><title>Caf+AOk-</title></item></channel></rss>")
    let doc = try XMLDocument.parseXML(small, encoding: "UTF-7")
    #expect(doc.wellFormed)
    #expect(doc.root?.name == "rss")
    #expect(doc.root?.text == "Café")
    let wide = utf7(
      "<rss><channel><item><description>"
        + String(repeating: "<a/>", count: LibXML.maxNodesPerItem + 10)
        + "</description></item></channel></rss>")
    #expect(throws: XMLError.tooManyElements) { try XMLStreamReader(wide, encoding: "UTF-7") }
    let attributes = utf7("<p \(String(repeating: " x", count: 5000))>text</p>")
    #expect(throws: XMLError.tooManyAttributes) {
      try XMLDocument.parseHTML(attributes, encoding: "utf-7")
    }
    // UTF-16 found by its byte order mark when no encoding is given.
    var utf16: [UInt8] = [0xFF, 0xFE]
    for unit in "<p \(String(repeating: " x", count: 5000))>text</p>".utf16 {
      utf16 += [UInt8(unit & 0xFF), UInt8(unit >> 8)]
    }
    #expect(throws: XMLError.tooManyAttributes) { try XMLDocument.parseHTML(utf16) }
    // A <meta> charset cannot switch the HTML parser to an encoding it was not given.
    let meta = Array("<meta charset=\"utf-7\"><p>a+ADw-b+AD4-c</p>".utf8)
    #expect(try XMLDocument.parseHTML(meta).root?.text.contains("a+ADw-b+AD4-c") == true)
  }

  /// Bytes the encoding cannot convert become U+FFFD and the document is not well-formed.
  @Test func unconvertibleBytesAreReplacedAndReported() throws {
    let bytes = Array("<r>caf".utf8) + [0xE9] + Array("</r>".utf8)  // é in Latin-1: not EUC-KR
    let doc = try XMLDocument.parseXML(bytes, encoding: "EUC-KR")
    #expect(!doc.wellFormed)
    #expect(doc.root?.text == "caf\u{FFFD}")
    let reader = try XMLStreamReader(bytes, encoding: "EUC-KR")
    #expect(reader.hadError)
  }

  @Test func billionLaughsIsBounded() throws {
    var doc = "<?xml version=\"1.0\"?>\n<!DOCTYPE r [\n<!ENTITY l0 \"lol\">\n"
    for i in 1...10 {
      doc += "<!ENTITY l\(i) \"\(String(repeating: "&l\(i - 1);", count: 10))\">\n"
    }
    doc += "]>\n<r><a>&l10;</a><b>&l10;&l10;&l10;</b></r>"
    let start = Date()
    let d = try XMLDocument.parseXML(Array(doc.utf8))
    let text = d.root?.text ?? ""
    #expect(Date().timeIntervalSince(start) < 5)
    // 10^10 "lol"s would be 30 GB; the expansion depth and budget stop far below.
    #expect(text.utf8.count <= XMLNode.entityBudget)
  }

  @Test func quadraticBlowupIsBoundedPerDocument() throws {
    let big = String(repeating: "x", count: 100_000)
    var doc = "<?xml version=\"1.0\"?>\n<!DOCTYPE r [<!ENTITY big \"\(big)\">]>\n<r>"
    for _ in 0..<2_000 { doc += "<i>" + String(repeating: "&big;", count: 20) + "</i>" }
    doc += "</r>"
    let d = try XMLDocument.parseXML(Array(doc.utf8))
    var total = 0
    d.root?.forEachElement { total += $0.text.utf8.count }
    // 2,000 x 20 x 100 KB = 4 GB if expanded naively.
    #expect(total <= 80 << 20)
  }

  @Test func externalEntitiesAreNotLoaded() throws {
    let secret = try tempFile("secret.txt", "TOP-SECRET-CONTENT")
    let doc = """
      <?xml version="1.0"?>
      <!DOCTYPE r [<!ENTITY xxe SYSTEM "file://\(secret)">]>
      <r><t>before &xxe; after</t></r>
      """
    let d = try XMLDocument.parseXML(Array(doc.utf8))
    let t = try #require(d.root?.firstElement("t"))
    #expect(!t.text.contains("TOP-SECRET"))
    #expect(!t.innerMarkup.contains("TOP-SECRET"))
    #expect(t.text.contains("before"))
  }

  @Test func externalDTDIsNotFetched() throws {
    let dtd = try tempFile("evil.dtd", "<!ENTITY greeting \"FROM-EXTERNAL-DTD\">")
    let doc = """
      <?xml version="1.0"?>
      <!DOCTYPE r SYSTEM "file://\(dtd)">
      <r>&greeting;</r>
      """
    let d = try XMLDocument.parseXML(Array(doc.utf8))
    let text = d.root?.text ?? ""
    #expect(text.contains("FROM-EXTERNAL-DTD") == false)
    let r = try XMLStreamReader(Array(doc.utf8))
    var seen = ""
    while r.read() {
      if r.isElement, let n = r.expand() { seen += n.text }
    }
    #expect(!seen.contains("FROM-EXTERNAL-DTD"))
  }

  @Test func internalEntitiesExpandInText() throws {
    let doc = "<!DOCTYPE r [<!ENTITY who \"world\">]><r>hello &who;!</r>"
    let d = try XMLDocument.parseXML(Array(doc.utf8))
    #expect(d.root?.text == "hello world!")
  }

  /// Legacy encodings are read as the supersets browsers use: Shift_JIS pages hold
  /// CP932's ① and 髙, EUC-KR ones CP949's 똠, GB2312 ones GBK's 镕.
  @Test func legacyEncodingsReadAsTheirWebSupersets() throws {
    let cases: [(String, [UInt8], String)] = [
      ("Shift_JIS", [0x87, 0x40, 0xFB, 0xFC], "①髙"),
      ("EUC-KR", [0x8C, 0x63], "똠"),
      ("gb2312", [0xE9, 0x46], "镕"),
      ("ISO-8859-1", [0x93, 0x61, 0x94], "\u{201C}a\u{201D}"),
    ]
    for (encoding, text, expected) in cases {
      let doc = try XMLDocument.parseXML(
        Array("<r>".utf8) + text + Array("</r>".utf8), encoding: encoding)
      #expect(doc.wellFormed, "\(encoding)")
      #expect(doc.root?.text == expected, "\(encoding)")
      let page = try XMLDocument.parseHTML(
        Array("<p>".utf8) + text + Array("</p>".utf8), encoding: encoding)
      #expect(page.root?.text == expected, "\(encoding)")
    }
  }

  /// Each unconvertible byte becomes one U+FFFD and conversion goes on after it (one
  /// replacement at a time used to shift the whole rest of the document: quadratic).
  @Test func everyBadByteIsReplacedOnce() throws {
    let bad = [UInt8](repeating: 0xFF, count: 50_000)
    let doc = try XMLDocument.parseXML(
      Array("<r>a".utf8) + bad + Array("b</r>".utf8), encoding: "Shift_JIS")
    #expect(!doc.wellFormed)
    #expect(doc.root?.text == "a" + String(repeating: "\u{FFFD}", count: 50_000) + "b")
  }

  /// A reference reads its own entity, not the declarations after it in the DTD (which
  /// gave wrong text, and exponential time for a chain of a few hundred references).
  @Test func aReferenceReadsOnlyItsEntity() throws {
    let two = "<!DOCTYPE r [<!ENTITY nbsp \"&#160;\"><!ENTITY co \"Example Corp\">]><r>a&nbsp;b</r>"
    #expect(try XMLDocument.parseXML(Array(two.utf8)).root?.text == "a\u{A0}b")
    let chain =
      "<!DOCTYPE r [<!ENTITY a \"x\"><!ENTITY b \"\(String(repeating: "&a;", count: 300))\">"
      + "<!ENTITY c \"z\">]><r>&b;</r>"
    #expect(
      try XMLDocument.parseXML(Array(chain.utf8)).root?.text == String(repeating: "x", count: 300))
  }

  /// Nodes inside an entity cost the budget too, not only their text: an entity of
  /// thousands of empty elements referenced a hundred times is not walked a hundred times.
  @Test func emptyEntityNodesSpendTheBudget() throws {
    let doc =
      "<!DOCTYPE r [<!ENTITY e \"\(String(repeating: "<b/>", count: 20_000))y\">]><r>"
      + String(repeating: "&e;", count: 100) + "</r>"
    let text = try XMLDocument.parseXML(Array(doc.utf8)).root?.text ?? ""
    #expect(text.hasPrefix("y"))
    #expect(text.count < 10)
  }

  /// Entity references in attribute values are read within the same budget as text:
  /// libxml2's `xmlGetProp`, `xmlNodeGetBase` and `xmlTextReaderGetAttribute` expand them
  /// without one (a 60 KB entity referenced 3,000 times in an enclosure URL took 45 s and
  /// 535 MB to parse).
  @Test func attributeEntitiesSpendTheBudget() throws {
    let big = String(repeating: "A", count: 20_000)
    let refs = String(repeating: "&big;", count: 200)  // 4 MB expanded
    let doc =
      "<?xml version=\"1.0\"?><!DOCTYPE rss [<!ENTITY big \"\(big)\"><!ENTITY v \"2.0\">]>"
      + "<rss version=\"&v;\" a=\"\(refs)\"><channel xml:base=\"http://b.test/\(refs)/\">"
      + "<item><enclosure url=\"\(refs)\" x=\"\(refs)\"/></item></channel></rss>"
    let d = try XMLDocument.parseXML(Array(doc.utf8))
    let enclosure = try #require(
      d.root?.firstElement("channel")?.firstElement("item")?.firstElement("enclosure"))
    let url = try #require(enclosure.attribute("url"))
    #expect(url.hasPrefix(big))
    #expect(url.utf8.count <= XMLNode.entityBudget)
    #expect(enclosure.attributes.allSatisfy { $0.value.utf8.count <= XMLNode.entityBudget })
    // Read within the budget, then ignored for being over 8 KiB.
    #expect(enclosure.baseURL == nil)
    #expect(d.root?.attribute("version") == "2.0")  // a small entity still reads in full

    let reader = try XMLStreamReader(Array(doc.utf8))
    while reader.read() && !reader.isElement {}
    #expect(reader.attribute("version") == "2.0")
    let a = try #require(reader.attribute("a"))
    #expect(a.hasPrefix(big) && a.utf8.count <= XMLNode.entityBudget)
  }

  /// An `xml:base` over 8 KiB is ignored: relative URLs below it resolve against the
  /// next base up or the document's URL.
  @Test func overlongXMLBaseIsIgnored() throws {
    let long = "http://b.test/" + String(repeating: "a/", count: 5_000)
    let doc =
      "<feed xml:base=\"http://a.test/dir/\"><entry xml:base=\"\(long)\"><link href=\"x\"/></entry></feed>"
    let d = try XMLDocument.parseXML(Array(doc.utf8), url: "http://doc.test/feed")
    let link = try #require(d.root?.firstElement("entry")?.firstElement("link"))
    #expect(link.baseURL == "http://a.test/dir/")
  }

  @Test func recoveringParserReportsBozo() throws {
    let d = try XMLDocument.parseXML(Array("<r><a>open</r".utf8))
    #expect(!d.wellFormed)
    #expect(d.root?.name == "r")
    let ns = try XMLDocument.parseXML(Array("<r><x:y>1</x:y></r>".utf8))
    #expect(!ns.namespaceWellFormed)
  }
}

@Suite struct XMLStreamReaderTests {
  @Test func expandsOneSubtreeAtATime() throws {
    let doc = """
      <feed xmlns="urn:f" xml:base="http://b.test/dir/">
        <title>T</title>
        <entry><title>one</title><link href="a"/></entry>
        <entry xml:base="sub/"><title>two</title><link href="b"/></entry>
      </feed>
      """
    let r = try XMLStreamReader(Array(doc.utf8), url: "http://doc.test/feed")
    var titles: [String] = []
    var bases: [String] = []
    var more = r.read()
    while more {
      if r.isElement && r.depth == 1 && r.localName == "entry" {
        #expect(r.namespaceURI == "urn:f")
        let e = try #require(r.expand())
        titles.append(e.firstElement("title")?.text ?? "")
        bases.append(e.firstElement("link")?.baseURL ?? "")
        more = r.next()
      } else {
        more = r.read()
      }
    }
    #expect(!r.hadError)
    #expect(titles == ["one", "two"])
    #expect(bases == ["http://b.test/dir/", "http://b.test/dir/sub/"])
  }

  @Test func reportsErrors() throws {
    let r = try XMLStreamReader(Array("<r><a>1</a><b></r>".utf8))
    while r.read() {}
    #expect(r.hadError)
  }

  @Test func resolvesURIs() {
    #expect(
      XMLDocument.resolveURI("../x?y#z", base: "http://h.test/a/b/c") == "http://h.test/a/x?y#z")
  }
}
