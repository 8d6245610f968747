import Articles
import Extract

/// Fuzz target for `Extractor.extract(_:url:contentType:)` and
/// `MarkdownConverter.convert(html:baseURL:)`.
///
/// Input: the page bytes. The Content-Type is picked by the input length. The extracted
/// content HTML goes through the Markdown converter (as the daemon does), and on every
/// other input the raw page too (the converter also gets feed item HTML as is).
///
/// Checked: no crash or sanitizer report; the Markdown is free of NUL; every image URL the
/// converter reports is an absolute http(s) URL.
let contentTypes: [String?] = [
  nil, "text/html", "text/html; charset=utf-8", "text/html; charset=iso-8859-1",
  "text/html; charset=shift_jis", "application/xhtml+xml", "text/html; charset=bogus",
]

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzExtract(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
  let bytes = Array(UnsafeBufferPointer(start: size > 0 ? data : nil, count: size))
  let url = "https://example.com/news/2024/story.html?id=7"
  let contentType = contentTypes[size % contentTypes.count]
  if let page = try? Extractor.extract(bytes, url: url, contentType: contentType) {
    check(MarkdownConverter.convert(html: page.contentHTML, baseURL: page.canonicalURL ?? url))
  }
  if size % 2 == 0 {
    check(MarkdownConverter.convert(html: String(decoding: bytes, as: UTF8.self), baseURL: url))
  }
  return 0
}

func check(_ c: MarkdownConversion) {
  if c.markdown.utf8.contains(0) { fatalError("NUL in Markdown: \(String(reflecting: c.markdown))") }
  for image in c.images where !(image.url.hasPrefix("http://") || image.url.hasPrefix("https://")) {
    fatalError("image URL not absolute http(s): \(String(reflecting: image.url))")
  }
}
