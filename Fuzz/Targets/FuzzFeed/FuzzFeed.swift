import Foundation

@testable import Feeds

/// Fuzz target for `FeedParser.parse(_:url:contentType:)` and `FeedParser.corpusJSON`.
///
/// Input: the whole document. The Content-Type header is picked by the input length, so
/// every seed is also tried with a charset that disagrees with the document.
///
/// Checked beyond "no crash, no sanitizer report": `corpusJSON` is one line of valid JSON
/// (the corpus scorer reads it with a JSON parser); and a document the streaming reader
/// reads cleanly reads the same through the DOM parser, which takes documents with a
/// CDATA section over 64 KiB (past this fuzzer's input sizes).
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
  checkDOMAgreesWithStreaming(bytes, contentType: contentType)
  return 0
}

/// A document the streaming reader reads cleanly reads the same through the DOM parser
/// (where documents with a long CDATA section go): titles and items. Line ends are left
/// out of the comparison (the reader keeps a CR inside a CDATA section, the DOM parser
/// folds it), and so is `bozo`: the reader stops after the last item, so a fault after
/// it (a mismatched `</channel>`) makes only the DOM parse bozo.
func checkDOMAgreesWithStreaming(_ bytes: [UInt8], contentType: String?) {
  let url = "https://example.com/feed/"
  guard let first = FeedParser.firstSignificantByte(bytes), first != UInt8(ascii: "{"),
    let a = try? FeedParser.parse(bytes, url: url, contentType: contentType, streaming: true),
    !a.bozo
  else { return }
  let b = try? FeedParser.parse(bytes, url: url, contentType: contentType, streaming: false)
  guard let b, strip(b.title) == strip(a.title), lineless(b.entries) == lineless(a.entries)
  else {
    fatalError(
      "DOM and streaming parses differ:\n  streaming: \(String(reflecting: a))\n"
        + "  DOM: \(String(reflecting: b))")
  }
}

/// `s` without CRs and LFs.
func strip(_ s: String?) -> String? {
  s.map { String(String.UnicodeScalarView($0.unicodeScalars.filter { $0 != "\r" && $0 != "\n" })) }
}

func lineless(_ items: [FeedItem]) -> [FeedItem] {
  items.map { item in
    var i = item
    i.title = strip(i.title)
    i.summary = strip(i.summary)
    i.content = strip(i.content)
    return i
  }
}
