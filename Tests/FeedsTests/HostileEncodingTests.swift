import Foundation
import Testing

@testable import Feeds

/// Feeds that were lost whole over their first bytes: stacked byte order marks, a UTF-16
/// charset on an ASCII body.
@Suite struct HostileEncodingTests {
  static let bom8: [UInt8] = [0xEF, 0xBB, 0xBF]
  static let bom16le: [UInt8] = [0xFF, 0xFE]
  static let bom16be: [UInt8] = [0xFE, 0xFF]
  static let bom32le: [UInt8] = [0xFF, 0xFE, 0x00, 0x00]

  static let rss = Array(
    """
    <?xml version="1.0" encoding="UTF-8"?>
    <rss version="2.0"><channel><title>Quay café</title>
    <item><title>Tide ☂</title><link>http://quay.test/1</link></item>
    <item><title>Fog</title><link>http://quay.test/2</link></item>
    </channel></rss>
    """.utf8)

  static func utf16LE(_ s: String) -> [UInt8] {
    s.utf16.flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] }
  }

  func expectQuay(_ bytes: [UInt8], contentType: String? = nil, _ label: String) {
    do {
      let f = try FeedParser.parse(bytes, url: "http://quay.test/feed", contentType: contentType)
      #expect(f.title == "Quay café", "\(label)")
      #expect(f.entries.map(\.title) == ["Tide ☂", "Fog"], "\(label)")
    } catch {
      Issue.record("\(label): \(error)")
    }
  }

  /// A byte EUC-KR cannot convert, in the end tag after the last item: libxml2's reader
  /// stopped there without calling the error handler, and the feed read as clean. (The
  /// fuzzer's streaming-vs-DOM check found it.)
  @Test func aReaderStopAfterTheLastItemIsBozo() throws {
    let doc: [UInt8] =
      Array("<?xml version=\"1.0\" encoding=\"euc-kr\"?>\n<rss version=\"2.0\">\n<channel>\n".utf8)
      + Array("  <item>\n    <description>&lt;img alt=\"".utf8) + [0xB3, 0xE2]
      + Array("\" /></description>\n  </item>\n</cha".utf8) + [0xDF] + Array("nel>\n</rss>\n".utf8)
    let f = try FeedParser.parse(doc, url: "http://quay.test/feed", contentType: nil)
    #expect(f.bozo)
    #expect(f.entries.map(\.summary) == ["<img alt=\"년\" />"])
  }

  @Test func anyNumberOfUTF8MarksIsSkipped() {
    for count in 1...6 {
      let marks = Array([[UInt8]](repeating: Self.bom8, count: count).joined())
      expectQuay(marks + Self.rss, "\(count) UTF-8 BOMs")
      // White space after the marks, and a body without a declaration.
      let bare = Array(Self.rss.drop(while: { $0 != 0x0A }))
      expectQuay(marks + bare, "\(count) BOMs, no declaration")
    }
  }

  @Test func mixedMarksBeforeASCIIMarkupAreSkipped() {
    let runs: [[UInt8]] = [
      Self.bom8 + Self.bom16le,
      Self.bom8 + Self.bom16be,
      Self.bom16le + Self.bom8,
      Self.bom8 + Self.bom32le + Self.bom8,
      Self.bom16be + Self.bom8 + Self.bom16le,
    ]
    for run in runs { expectQuay(run + Self.rss, "marks \(run)") }
  }

  @Test func marksBeforeWideMarkupStillMeanWide() {
    let doc = String(decoding: Self.rss, as: UTF8.self)
      .replacingOccurrences(of: "UTF-8", with: "UTF-16")
    let wide = Self.utf16LE(doc)
    expectQuay(Self.bom16le + wide, "UTF-16LE BOM")
    expectQuay(Self.bom8 + Self.bom16le + wide, "UTF-8 BOM, UTF-16LE BOM, UTF-16LE")
    expectQuay(Self.bom16le + Self.bom16le + wide, "two UTF-16LE BOMs")
  }

  @Test func wideCharsetOnAnASCIIBodyIsIgnored() {
    let bare = Array(Self.rss.drop(while: { $0 != 0x0A }).dropFirst())  // starts "<rss"
    for cs in ["utf-16", "UTF-16LE", "utf-16be", "utf-32", "utf-32le", "ucs-2", "\"utf-16\""] {
      expectQuay(Self.rss, contentType: "application/rss+xml; charset=\(cs)", "charset=\(cs)")
      expectQuay(bare, contentType: "text/xml;charset=\(cs)", "charset=\(cs), no declaration")
      expectQuay(Self.bom8 + Self.rss, contentType: "text/xml; charset=\(cs)", "BOM, \(cs)")
    }
  }

  @Test func wideCharsetOnAWideBodyIsBelieved() {
    let doc = String(decoding: Self.rss, as: UTF8.self)
      .replacingOccurrences(of: "UTF-8", with: "UTF-16")
    expectQuay(Self.utf16LE(doc), contentType: "text/xml; charset=utf-16le", "UTF-16LE, no BOM")
    expectQuay(Self.utf16LE(doc), contentType: "text/xml; charset=utf-16", "sniffed UTF-16LE")
  }

  @Test func plausibleCharsetKeepsItsMeaning() throws {
    // RFC 7303: a Latin-1 header still wins over an ASCII body's declaration.
    let doc =
      Array(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><rss version=\"2.0\"><channel><title>Caf\u{E9}"
          .unicodeScalars.map { UInt8($0.value) }) + Array("</title></channel></rss>".utf8)
    let f = try FeedParser.parse(doc, url: nil, contentType: "text/xml; charset=iso-8859-1")
    #expect(f.title == "Café")
  }
}
