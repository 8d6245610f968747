import Foundation

@testable import Feeds

/// Fuzz target for `FeedParser.parse(_:url:contentType:)` and `FeedParser.corpusJSON`.
///
/// Input: the whole document. The Content-Type header is picked by the input length, so
/// every seed is also tried with a charset that disagrees with the document.
///
/// Checked beyond "no crash, no sanitizer report": `corpusJSON` is one line of valid JSON
/// (the corpus scorer reads it with a JSON parser); and the large-CDATA rewrite
/// (`FeedBytes.escapeLargeCDATA`, applied to every section here, threshold 0) changes
/// nothing the parser reads from a document it reads cleanly.
let contentTypes: [String?] = [
  nil, "application/rss+xml", "application/atom+xml; charset=utf-8",
  "text/xml; charset=iso-8859-1", "text/html; charset=windows-1252",
  "application/xml; charset=utf-16", "application/feed+json", "text/plain; charset=koi8-r",
]

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzFeed(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
  let bytes = Array(UnsafeBufferPointer(start: size > 0 ? data : nil, count: size))
  let contentType = contentTypes[size % contentTypes.count]
  guard let feed = try? FeedParser.parse(bytes, url: "https://example.com/feed/", contentType: contentType)
  else { return 0 }
  let json = FeedParser.corpusJSON(feed)
  if json.contains("\n") { fatalError("corpusJSON is not one line: \(String(reflecting: json))") }
  do {
    _ = try JSONSerialization.jsonObject(with: Data(json.utf8), options: [.fragmentsAllowed])
  } catch {
    fatalError("corpusJSON is not valid JSON (\(error)): \(String(reflecting: json))")
  }
  checkCDATARewrite(bytes, contentType: contentType)
  return 0
}

/// Both sides are the decoded UTF-8 bytes parsed with the same charset, so only the
/// rewrite differs. Compared: what a reader gets (not `bozo`, which a clean document has
/// on neither side).
func checkCDATARewrite(_ bytes: [UInt8], contentType: String?) {
  guard let first = FeedParser.firstSignificantByte(bytes), first != UInt8(ascii: "{") else {
    return
  }
  var prepared = FeedBytes.decode(bytes, contentType: contentType)
  let before = prepared.bytes
  prepared.escapeLargeCDATA(threshold: 0)
  if prepared.bytes == before { return }
  let utf8 = "application/xml; charset=utf-8"
  guard let a = try? FeedParser.parse(before, url: "https://example.com/feed/", contentType: utf8),
    !a.bozo
  else { return }
  let b = try? FeedParser.parse(prepared.bytes, url: "https://example.com/feed/", contentType: utf8)
  guard let b, b.title == a.title, b.entries == a.entries, !b.bozo else {
    fatalError(
      "CDATA rewrite changed the feed:\n  before: \(String(decoding: before, as: UTF8.self))\n"
        + "  after: \(String(decoding: prepared.bytes, as: UTF8.self))")
  }
}
