import Foundation
import Testing

@testable import Extract

@Suite struct CharsetTests {
  /// "Café Ünïcode" body in a page, as raw bytes of the given encoding.
  func latin1Page(meta: String) -> [UInt8] {
    var bytes = Array("<html><head>\(meta)<title>Caf".utf8)
    bytes.append(0xE9)  // é in windows-1252
    bytes += Array(" menu and more words here</title></head><body><article>".utf8)
    bytes += Array(prose("coffee").utf8)
    bytes +=
      Array("<p>Cr".utf8) + [0xE8, 0x6D, 0x65] + Array(" br".utf8) + [0xFB, 0x6C, 0xE9, 0x65]
    bytes += Array(", a dessert, with commas, and sugar, and fire, for everyone.</p>".utf8)
    bytes += Array("</article></body></html>".utf8)
    return bytes
  }

  @Test func metaCharsetDeclaresWindows1252() throws {
    let p = try extract(latin1Page(meta: "<meta charset=\"iso-8859-1\">"))
    #expect(p.encoding == "windows-1252")
    #expect(p.title == "Café menu and more words here")
    #expect(p.text.contains("Crème brûlée"))
  }

  /// Pages put tens of kilobytes of script before their <meta charset>.
  @Test func aMetaCharsetAfterLongScriptsCounts() throws {
    let script =
      "<script>" + String(repeating: "window.dataLayer.push({a: 1});\n", count: 300) + "</script>"
    var page = Array("<html><head>\(script)<meta charset=\"shift_jis\"><title>".utf8)
    page += [0x93, 0xFA, 0x96, 0x7B]  // 日本 in Shift_JIS
    page += Array("</title></head><body><article>\(prose("Japan"))</article></body></html>".utf8)
    let p = try extract(page)
    #expect(p.encoding == "shift_jis")
    #expect(p.title == "日本")
  }

  @Test func httpEquivContentTypeDeclaresTheCharset() throws {
    let meta = "<meta http-equiv=\"Content-Type\" content=\"text/html; charset=windows-1252\">"
    let p = try extract(latin1Page(meta: meta))
    #expect(p.text.contains("Crème brûlée"))
  }

  @Test func undeclaredInvalidUTF8IsWindows1252() throws {
    let p = try extract(latin1Page(meta: ""))
    #expect(p.encoding == "windows-1252")
    #expect(p.text.contains("Crème brûlée"))
  }

  @Test func undeclaredValidUTF8IsUTF8() throws {
    let p = try extract(
      page(head: "<title>Crème brûlée for all of us</title>", body: prose("crème")))
    #expect(p.encoding == "UTF-8")
    #expect(p.title == "Crème brûlée for all of us")
  }

  @Test func httpContentTypeWinsOverMeta() throws {
    let p = try extract(
      latin1Page(meta: "<meta charset=\"utf-8\">"), contentType: "text/html; charset=ISO-8859-1")
    #expect(p.encoding == "windows-1252")
    #expect(p.text.contains("Crème brûlée"))
  }

  @Test func byteOrderMarkWins() throws {
    let bytes: [UInt8] =
      [0xEF, 0xBB, 0xBF]
      + page(
        head: "<meta charset=\"windows-1252\"><title>Brûlée and friends, a story</title>",
        body: prose("marks"))
    let p = try extract(bytes, contentType: "text/html; charset=iso-8859-1")
    #expect(p.encoding == "UTF-8")
    #expect(p.title == "Brûlée and friends, a story")
  }

  @Test func utf16WithBOM() throws {
    let html = String(
      decoding: page(head: "<title>Ünïcode sixteen bits wide</title>", body: prose("wide")),
      as: UTF8.self)
    let bytes: [UInt8] = [0xFF, 0xFE] + Array(html.data(using: .utf16LittleEndian)!)
    let p = try extract(bytes)
    #expect(p.title == "Ünïcode sixteen bits wide")
    #expect(p.text.contains("Paragraph 1 about wide"))
  }

  @Test func staleLegacyMetaOverValidUTF8IsIgnored() throws {
    let p = try extract(
      page(head: "<meta charset=\"gb2312\"><title>深度学习的新突破，人工智能</title>", body: prose("深度学习")))
    #expect(p.encoding == "UTF-8")
    #expect(p.title == "深度学习的新突破，人工智能")
  }

  @Test func charsetParameterParsing() {
    #expect(Charset.charsetParameter("text/html; charset=\"UTF-8\"") == "utf-8")
    #expect(Charset.charsetParameter("text/html;charset=Shift_JIS; foo=bar") == "shift_jis")
    #expect(Charset.charsetParameter("text/html") == nil)
    #expect(Charset.normalize("latin1", fromMeta: true) == "windows-1252")
    #expect(Charset.normalize("bogus name!", fromMeta: true) == nil)
  }
}

@Suite struct PathologicalInputTests {
  @Test func deepNestingIsBounded() throws {
    let depth = 100_000
    let html =
      "<html><body><p>Start of a page, with commas, and words, for the scorer.</p>"
      + String(repeating: "<div>", count: depth) + "deep text"
      + String(repeating: "</div>", count: depth) + "</body></html>"
    let p = try extract(Array(html.utf8))
    #expect(p.text.contains("Start of a page"))
  }

  @Test func deepInlineNestingIsBounded() throws {
    let depth = 100_000
    let html =
      "<html><body>" + String(repeating: "<span><b>", count: depth) + "inline"
      + String(repeating: "</b></span>", count: depth) + "</body></html>"
    _ = try extract(Array(html.utf8))
  }

  @Test func hugeTextNodeIsLinear() throws {
    let text = String(repeating: "word, ", count: 1_750_000)  // 10.5 MB
    let html = "<html><body><article><p>" + text + "</p></article></body></html>"
    let start = Date()
    let p = try extract(Array(html.utf8))
    // libxml2 (without HUGE) caps one text node at 10,000,000 bytes: the rest is dropped.
    #expect(p.text.utf8.count > 9_000_000)
    #expect(p.text.utf8.count <= 10_000_000)
    #expect(Date().timeIntervalSince(start) < 60)
  }

  @Test func thousandsOfSiblings() throws {
    let paragraphs = (0..<20_000).map {
      "<p>Sibling paragraph \($0), with commas, and enough words to count as text.</p>"
    }
    let html = "<html><body><div>" + paragraphs.joined() + "</div></body></html>"
    let start = Date()
    let p = try extract(Array(html.utf8))
    #expect(p.text.contains("Sibling paragraph 19999"))
    #expect(Date().timeIntervalSince(start) < 60)
  }

  @Test func emptyAndBinaryInputDoNotCrash() throws {
    for bytes: [UInt8] in [[], [0], Array(repeating: 0xFF, count: 1000), Array("<".utf8)] {
      do {
        let p = try Extractor.extract(bytes, url: "", contentType: "text/html")
        #expect(!p.text.unicodeScalars.contains("\u{0}"))
        #expect(p.text.unicodeScalars.count <= bytes.count)
      } catch {
        if case .unparseable = error {} else { Issue.record("unexpected \(error)") }
      }
    }
  }
}
