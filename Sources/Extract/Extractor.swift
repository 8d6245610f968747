import Foundation
import XML

/// An article extracted from an HTML page.
public struct ExtractedPage: Sendable, Equatable {
  public var title: String?
  public var byline: String?
  public var excerpt: String?
  public var siteName: String?
  /// The publication time as the page wrote it.
  public var publishedTime: String?
  /// `publishedTime` parsed (ISO 8601 with or without offset, date only, RFC 2822).
  public var published: Date?
  public var lang: String?
  /// Plain body text: one block element per line.
  public var text: String
  /// The cleaned main-content subtree as HTML (no scripts, styles, frames, classes or
  /// event handlers; absolute URLs).
  public var contentHTML: String
  /// Absolute image URLs, lead image first.
  public var images: [String]
  /// `<link rel=canonical>` or `og:url`, absolute.
  public var canonicalURL: String?
  /// The encoding the page was decoded with.
  public var encoding: String

  public init(
    title: String? = nil, byline: String? = nil, excerpt: String? = nil,
    siteName: String? = nil, publishedTime: String? = nil, published: Date? = nil,
    lang: String? = nil, text: String = "", contentHTML: String = "", images: [String] = [],
    canonicalURL: String? = nil, encoding: String = "UTF-8"
  ) {
    self.title = title
    self.byline = byline
    self.excerpt = excerpt
    self.siteName = siteName
    self.publishedTime = publishedTime
    self.published = published
    self.lang = lang
    self.text = text
    self.contentHTML = contentHTML
    self.images = images
    self.canonicalURL = canonicalURL
    self.encoding = encoding
  }
}

public enum ExtractError: Error, Sendable, Equatable {
  /// libxml2 could not make a document of the bytes at all.
  case unparseable(String)
  /// The list file of `extractList` could not be read.
  case unreadable(String)
}

/// HTML page -> metadata + main content.
///
/// Measured on the development article corpus (221 pages, 40.2 MB), release build, one
/// process (`feedspool extract --list FILE`), time inside `extract` only, on the shared
/// 2-core machine: 36 pages/s, 6.6 MB/s at load 6-8 (63-73 pages/s, 11.5-13.4 MB/s at
/// lower load); trafilatura 2.3.1 `bare_extraction(with_metadata=True)` over the same
/// pages in the same conditions: 5.5 pages/s, 1.0 MB/s (11.2 pages/s at lower load).
public enum Extractor {
  /// Extracts metadata and main content from an HTML page.
  ///
  /// - Parameters:
  ///   - bytes: the page as fetched.
  ///   - url: the URL it was fetched from (after redirects): the base for relative links.
  ///   - contentType: the HTTP `Content-Type`, whose charset wins over the page's own.
  public static func extract(_ bytes: [UInt8], url: String, contentType: String?)
    throws(ExtractError) -> ExtractedPage
  {
    let choice = Charset.detect(bytes, contentType: contentType)
    let input = choice.skip > 0 ? Array(bytes[choice.skip...]) : bytes
    let document: XMLDocument
    do {
      document = try XMLDocument.parseHTML(input, url: url, encoding: choice.encoding)
    } catch {
      do {
        document = try XMLDocument.parseHTML(input, url: url, encoding: nil)
      } catch {
        throw .unparseable("\(error)")
      }
    }
    var tree = PageTree(document)
    return extract(&tree, url: url, encoding: choice.encoding)
  }

  static func extract(_ tree: inout PageTree, url: String, encoding: String) -> ExtractedPage {
    // <base href> changes how relative links resolve.
    var base = url.isEmpty ? nil : url
    // One longer than `XMLNode.maxBaseBytes` is ignored (every link would be made from it:
    // a 1 MB base and 100 images took 5.7 s and 371 MB).
    if let b = tree.first("base"), let href = tree.attr(b, "href"),
      href.utf8.count <= XMLNode.maxBaseBytes, let resolved = resolveURL(href, base: base)
    {
      base = resolved
    }
    var meta = Metadata.read(tree, base: base)
    let title = meta.title ?? ""

    var finder = ContentFinder(tree: tree, title: title)
    finder.strip()
    finder.bodyByline = finder.takeByline()
    finder.dropDatelines()
    let stripped = finder.tree.removed

    var best: (text: String, html: String, roots: [Int], removed: [Bool])? = nil
    let attempts: [ContentFinder.Flags] = [
      .all, [.weightClasses, .cleanConditionally], [.cleanConditionally], [],
    ]
    for flags in attempts {
      finder.tree.removed = stripped
      if flags.contains(.stripUnlikely) { finder.stripUnlikely() }
      finder.computeStats()
      let scores = finder.score(flags)
      let roots = finder.pick(scores, flags)
      finder.clean(roots, flags)
      let text = finder.tree.plainText(roots)
      if best == nil || text.count > best!.text.count {
        best = (text, "", roots, finder.tree.removed)
      }
      if text.count >= 500 { break }
    }
    finder.tree.removed = best?.removed ?? stripped
    let roots = best?.roots ?? []
    let html = finder.tree.cleanHTML(roots, base: base)

    if meta.byline == nil, let b = finder.bodyByline {
      meta.byline = foldWhitespace(b)
    }
    if meta.excerpt == nil {
      // The first paragraph: a <p>, or a block holding only inline content.
      finder.computeStats()
      var first: Int? = nil
      for r in roots where first == nil {
        for i in [r] + finder.tree.descendants(r) {
          let n = finder.tree.name[i]
          let paragraphLike =
            n == "p"
            || (ContentFinder.paragraphLikeContainers.contains(n) && !finder.hasBlockChild[i])
          if paragraphLike && finder.textLen[i] > 0
            && !finder.tree.textContent(i).trimmingSpaces().isEmpty
          {
            first = i
            break
          }
        }
      }
      if let first { meta.excerpt = finder.tree.textContent(first).trimmingSpaces() }
    }
    var images = meta.metaImages
    var seen = Set(images)
    for r in roots {
      let imgs = finder.tree.name[r] == "img" ? [r] : finder.tree.descendants(r, named: ["img"])
      for i in imgs {
        if let u = finder.tree.imageSource(i, base: base), !u.hasPrefix("data:"),
          seen.insert(u).inserted
        {
          images.append(u)
        }
      }
    }
    return ExtractedPage(
      title: meta.title, byline: meta.byline, excerpt: meta.excerpt,
      siteName: meta.siteName, publishedTime: meta.publishedTime,
      published: meta.publishedTime.flatMap(DateParser.parse), lang: meta.lang,
      text: best?.text ?? "", contentHTML: html, images: images,
      canonicalURL: meta.canonicalURL, encoding: encoding)
  }

  /// JSON object {title, byline, excerpt, siteName, publishedTime, lang, text, markdown,
  /// images} on one line; absent values are `null`.
  public static func commandJSON(_ page: ExtractedPage, markdown: String?) -> String {
    var out = "{"
    func field(_ key: String, _ value: String?, last: Bool = false) {
      out += "\"" + key + "\":"
      if let value { appendJSONString(value, to: &out) } else { out += "null" }
      if !last { out += "," }
    }
    field("title", page.title)
    field("byline", page.byline)
    field("excerpt", page.excerpt)
    field("siteName", page.siteName)
    field("publishedTime", page.publishedTime)
    field("lang", page.lang)
    field("text", page.text)
    field("markdown", markdown)
    out += "\"images\":["
    for (k, u) in page.images.enumerated() {
      if k > 0 { out += "," }
      appendJSONString(u, to: &out)
    }
    out += "]}"
    return out
  }

  /// Extracts every page named in `listFile` (one `PATH<TAB>URL` or `PATH URL` per line;
  /// the URL may be missing) and prints one `commandJSON` line per page, in order, with
  /// `"file"` added; then prints a summary (pages, bytes, seconds, pages/s, MB/s) to
  /// standard error. A page that fails prints `{"file":...,"error":...}`.
  public static func extractList(_ listFile: String) throws(ExtractError) {
    guard let data = FileManager.default.contents(atPath: listFile),
      let list = String(data: data, encoding: .utf8)
    else { throw .unreadable(listFile) }
    var pages = 0
    var totalBytes = 0
    var seconds = 0.0
    for line in list.split(separator: "\n") {
      let parts = line.split(
        maxSplits: 1, omittingEmptySubsequences: true, whereSeparator: { $0 == "\t" || $0 == " " })
      guard let pathPart = parts.first else { continue }
      let path = String(pathPart)
      let url = parts.count > 1 ? String(parts[1]).trimmingSpaces() : ""
      guard let fileData = FileManager.default.contents(atPath: path) else {
        var err = "{\"file\":"
        appendJSONString(path, to: &err)
        err += ",\"error\":\"unreadable\"}"
        print(err)
        continue
      }
      let bytes = [UInt8](fileData)
      let start = DispatchTime.now().uptimeNanoseconds
      let result: Result<ExtractedPage, ExtractError>
      do throws(ExtractError) {
        result = .success(try extract(bytes, url: url, contentType: nil))
      } catch {
        result = .failure(error)
      }
      seconds += Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
      pages += 1
      totalBytes += bytes.count
      var prefix = "{\"file\":"
      appendJSONString(path, to: &prefix)
      switch result {
      case .success(let page):
        let json = commandJSON(page, markdown: nil)
        print(prefix + "," + json.dropFirst())
      case .failure(let error):
        prefix += ",\"error\":"
        appendJSONString("\(error)", to: &prefix)
        print(prefix + "}")
      }
    }
    let mb = Double(totalBytes) / 1_000_000
    let summary = String(
      format: "extract: %d pages, %.1f MB in %.3f s: %.1f pages/s, %.2f MB/s\n", pages, mb,
      seconds, seconds > 0 ? Double(pages) / seconds : 0, seconds > 0 ? mb / seconds : 0)
    FileHandle.standardError.write(summary.data(using: .utf8)!)
  }
}

/// Appends `s` as a JSON string literal, copying runs of plain bytes at once.
func appendJSONString(_ s: String, to out: inout String) {
  out += "\""
  var s = s
  s.withUTF8 { src in
    var runStart = 0
    var i = 0
    func flush(_ end: Int) {
      if end > runStart {
        out += String(decoding: UnsafeBufferPointer(rebasing: src[runStart..<end]), as: UTF8.self)
      }
    }
    while i < src.count {
      let b = src[i]
      var replacement: String? = nil
      var width = 1
      switch b {
      case UInt8(ascii: "\""): replacement = "\\\""
      case UInt8(ascii: "\\"): replacement = "\\\\"
      case 0x0A: replacement = "\\n"
      case 0x0D: replacement = "\\r"
      case 0x09: replacement = "\\t"
      case 0xE2
      where i + 2 < src.count && src[i + 1] == 0x80 && (src[i + 2] == 0xA8 || src[i + 2] == 0xA9):
        // U+2028 / U+2029 break JavaScript readers of JSON.
        replacement = src[i + 2] == 0xA8 ? "\\u2028" : "\\u2029"
        width = 3
      default:
        if b < 0x20 {
          let hex = String(b, radix: 16)
          replacement = "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
        }
      }
      if let replacement {
        flush(i)
        out += replacement
        runStart = i + width
      }
      i += width
    }
    flush(src.count)
  }
  out += "\""
}
