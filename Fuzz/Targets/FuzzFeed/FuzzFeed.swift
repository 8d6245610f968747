import Foundation
import Feeds

/// Fuzz target for `FeedParser.parse(_:url:contentType:)` and `FeedParser.corpusJSON`.
///
/// Input: the whole document. The Content-Type header is picked by the input length, so
/// every seed is also tried with a charset that disagrees with the document.
///
/// Checked beyond "no crash, no sanitizer report": `corpusJSON` is one line of valid JSON
/// (the corpus scorer reads it with a JSON parser).
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
  return 0
}
