import Foundation
import Synchronization
import XML

#if canImport(Glibc)
  import Glibc
#endif

/// Why nothing feed-like could be read from a document.
public enum FeedParseError: Error, Sendable, Equatable {
  case empty
  case notAFeed(String)
}

/// The one entry point: sniffs the format from the document itself (never from the
/// URL or Content-Type) and hands it to the parser for that format.
public enum FeedParser {
  /// Items read from one document, in document order; the rest are counted in
  /// `droppedItems`. A real feed carries tens; a document of 100,000 small items fits in
  /// the body limit and would otherwise cost gigabytes of items, articles and time.
  public static let maxItems = 1000

  /// Sniffs the format from the bytes; `url` is the document URL (base for relative
  /// links), `contentType` the HTTP Content-Type header value (for the charset).
  /// Throws only when nothing feed-like can be recovered (empty, HTML page, garbage).
  public static func parse(
    _ bytes: [UInt8], url: String?, contentType: String?
  ) throws(FeedParseError) -> ParsedFeed {
    try parse(bytes, url: url, contentType: contentType, streaming: true)
  }

  /// `streaming: false` sends every XML document to the DOM parser (for tests that
  /// compare the two).
  static func parse(
    _ bytes: [UInt8], url: String?, contentType: String?, streaming: Bool
  ) throws(FeedParseError) -> ParsedFeed {
    let url = url.flatMap { $0.isEmpty ? nil : $0 }
    guard let first = firstSignificantByte(bytes) else { throw .empty }
    if first == UInt8(ascii: "{") {
      let marks = leadingUTF8BOMs(bytes)
      var feed = try JSONFeedParser.parse(marks == 0 ? bytes : Array(bytes[marks...]), url: url)
      if feed.entries.count > maxItems {
        let extra = feed.entries.count - maxItems
        feed.droppedItems += extra
        feed.entries.removeLast(extra)
      }
      return feed
    }
    var prepared = FeedBytes.decode(bytes, contentType: contentType)
    guard prepared.bytes.contains(UInt8(ascii: "<")) else { throw .notAFeed("no markup") }
    // The well-formedness repairs (undeclared entities, bare '&', control characters) are
    // needed only where libxml2 would stop at a fatal error, or, with a DOCTYPE, where it
    // would quietly drop an entity it cannot resolve. Without a DOCTYPE the streaming
    // reader tries the document as it is and the repairs run only if it fails: most
    // feeds are well-formed and skip a pass over every byte.
    var repaired = false
    if FeedBytes.hasDoctype(prepared.bytes) {
      prepared.fixWellFormedness()
      repaired = true
    }
    var reasons: [String] = []
    var feed: ParsedFeed
    // Well-formed RSS and Atom stream item by item (bounded memory); anything else,
    // any document the reader finds an error in, and one it refuses (a construct it would
    // be quadratic in, such as a CDATA section of megabytes) goes to the recovering DOM
    // parser.
    if streaming, let streamed = streamingParse(prepared, url: url) {
      feed = streamed
      if let r = prepared.bozoReason { reasons.append(r) }
    } else {
      if !repaired { prepared.fixWellFormedness() }
      if let r = prepared.bozoReason { reasons.append(r) }
      let document: XMLDocument
      do {
        document = try XMLDocument.parseXML(prepared.bytes, url: url, encoding: prepared.encoding)
      } catch {
        throw .notAFeed("\(error)")
      }
      feed = try XMLFeedParser.parse(document)
      if !document.wellFormed { reasons.append(document.firstError ?? "not well-formed") }
      if !document.namespaceWellFormed { reasons.append("undeclared namespace prefix") }
    }
    if let ct = contentType, !isXMLContentType(ct) { reasons.append("non-XML Content-Type") }
    feed.bozo = prepared.bozo || !reasons.isEmpty
    feed.bozoMessage = reasons.first
    return feed
  }

  static func streamingParse(_ prepared: FeedBytes, url: String?) -> ParsedFeed? {
    guard let reader = try? XMLStreamReader(prepared.bytes, url: url, encoding: prepared.encoding)
    else { return nil }
    return XMLFeedParser.parseStreaming(reader)
  }

  static func firstSignificantByte(_ bytes: [UInt8]) -> UInt8? {
    var i = leadingUTF8BOMs(bytes)
    while i < bytes.count {
      let b = bytes[i]
      if b != 0x20 && b != 0x09 && b != 0x0A && b != 0x0D { return b }
      i += 1
    }
    return nil
  }

  /// The length of the run of UTF-8 byte order marks at the start (0 when none).
  static func leadingUTF8BOMs(_ bytes: [UInt8]) -> Int {
    var i = 0
    while i + 3 <= bytes.count, bytes[i] == 0xEF, bytes[i + 1] == 0xBB, bytes[i + 2] == 0xBF {
      i += 3
    }
    return i
  }

  static func isXMLContentType(_ ct: String) -> Bool {
    let mime =
      ct.split(separator: ";").first.map {
        $0.trimmed.lowercased()
      } ?? ""
    return mime.isEmpty || mime.hasSuffix("xml") || mime.contains("json")
      || mime == "application/x-netcdf" || mime == "text/plain"
  }

  // MARK: Output for the corpus scorer

  /// The JSON object of the corpus README ("Parse result shape expected by
  /// tools/score_feeds.py"), one line.
  public static func corpusJSON(_ feed: ParsedFeed) -> String {
    var w = JSONWriter()
    w.open("{")
    w.key("bozo")
    w.raw(feed.bozo ? "true" : "false")
    w.key("feed")
    w.open("{")
    w.field("title", feed.title)
    w.field("link", feed.link)
    w.field("subtitle", feed.subtitle)
    w.close("}")
    w.key("entries")
    w.open("[")
    for e in feed.entries {
      w.comma()
      w.open("{")
      w.field("title", e.title)
      w.field("link", e.link)
      w.field("id", e.id)
      w.field("published", e.published.map(FeedDate.iso))
      w.field("updated", e.updated.map(FeedDate.iso))
      w.field("author", e.author)
      w.field("summary", e.summary)
      w.field("content", e.content)
      w.key("tags")
      w.open("[")
      for t in e.tags {
        w.comma()
        w.string(t)
      }
      w.close("]")
      w.key("enclosures")
      w.open("[")
      for enc in e.enclosures {
        w.comma()
        w.open("{")
        w.field("href", enc.href)
        w.field("type", enc.type)
        w.field("length", enc.length)
        w.close("}")
      }
      w.close("]")
      w.key("media_thumbnails")
      w.open("[")
      for m in e.thumbnails {
        w.comma()
        w.open("{")
        w.field("url", m.url)
        w.field("width", m.width)
        w.field("height", m.height)
        w.close("}")
      }
      w.close("]")
      w.key("media_content")
      w.open("[")
      for m in e.mediaContent {
        w.comma()
        w.open("{")
        w.field("url", m.url)
        w.field("type", m.type)
        w.field("medium", m.medium)
        w.field("width", m.width)
        w.field("height", m.height)
        w.field("fileSize", m.fileSize)
        w.field("duration", m.duration)
        w.close("}")
      }
      w.close("]")
      w.close("}")
    }
    w.close("]")
    w.close("}")
    return w.out
  }

  // MARK: Command-line helpers

  /// `feedspool parse FILE [--url URL] [--headers JSONFILE]`: the output (corpusJSON, or
  /// an error message) and the exit code. Empty strings mean absent.
  public static func parseCommand(
    file: String, url: String?, headersFile: String?
  ) -> (output: String, exitCode: Int32) {
    guard let data = readFile(file) else {
      return ("feedspool: cannot read \(file)", 1)
    }
    var url = url.flatMap { $0.isEmpty ? nil : $0 }
    var contentType: String?
    if let hf = headersFile, !hf.isEmpty {
      guard let hd = FileManager.default.contents(atPath: hf),
        let obj = try? JSONSerialization.jsonObject(with: hd) as? [String: Any]
      else {
        return ("feedspool: cannot read headers file \(hf)", 1)
      }
      var location: String?
      for (k, v) in obj {
        switch k.lowercased() {
        case "content-type": contentType = v as? String
        case "content-location": location = v as? String
        default: break
        }
      }
      if let location, !location.isEmpty {
        let resolved = FeedURL.resolve(location, base: url)
        if let s = FeedURL.scheme(resolved), s == "http" || s == "https" { url = resolved }
      }
    }
    do {
      let feed = try parse(data, url: url, contentType: contentType)
      return (corpusJSON(feed), 0)
    } catch {
      // Nothing feed-like: still a well-formed answer (bozo, no entries).
      var feed = ParsedFeed()
      feed.bozo = true
      return (corpusJSON(feed), 0)
    }
  }

  /// `parse --list FILE`: parses every file named in FILE (one path per line), for
  /// benchmarks, on `jobs` threads (default: one per core; the daemon parses feeds
  /// concurrently as well). Each file is read and parsed whole by one thread; threads take
  /// the next file as they finish. Returns the total item count and the number of files
  /// that could not be read or held nothing feed-like.
  public static func parseList(_ listFile: String, jobs: Int? = nil) -> (items: Int, errors: Int) {
    guard let list = try? String(contentsOfFile: listFile, encoding: .utf8) else { return (0, 1) }
    let paths = list.split(whereSeparator: \.isNewline).map(String.init).filter { !$0.isEmpty }
    let workers = max(1, min(jobs ?? ProcessInfo.processInfo.activeProcessorCount, paths.count))
    let next = Atomic<Int>(0)
    let totals = Mutex<(items: Int, errors: Int)>((0, 0))
    DispatchQueue.concurrentPerform(iterations: workers) { _ in
      var items = 0
      var errors = 0
      while true {
        let i = next.wrappingAdd(1, ordering: .relaxed).oldValue
        guard i < paths.count else { break }
        guard let data = readFile(paths[i]) else {
          errors += 1
          continue
        }
        do {
          items += try parse(data, url: nil, contentType: nil).entries.count
        } catch {
          errors += 1
        }
      }
      totals.withLock {
        $0.items += items
        $0.errors += errors
      }
    }
    return totals.withLock { $0 }
  }
}

/// The whole file, read straight into one buffer (no intermediate `Data` or chunk copies).
func readFile(_ path: String) -> [UInt8]? {
  let fd = open(path, O_RDONLY | O_CLOEXEC)
  guard fd >= 0 else { return nil }
  defer { close(fd) }
  var st = stat()
  guard fstat(fd, &st) == 0 else { return nil }
  var size = max(Int(st.st_size), 0)
  while true {
    var failed = false
    // One byte more than the size: a file that grew since fstat is read again, larger.
    let out = [UInt8](unsafeUninitializedCapacity: size + 1) { buf, count in
      var n = 0
      while n < buf.count {
        let r = pread(fd, buf.baseAddress! + n, buf.count - n, off_t(n))
        if r < 0 {
          if errno == EINTR { continue }
          failed = true
          break
        }
        if r == 0 { break }
        n += r
      }
      count = n
    }
    if failed { return nil }
    if out.count <= size { return out }
    size = size * 2 + 4096
  }
}

/// A minimal JSON writer (strings escaped per RFC 8259), enough for corpusJSON.
struct JSONWriter {
  var out = ""
  var needComma = false

  mutating func open(_ c: String) {
    out += c
    needComma = false
  }
  mutating func close(_ c: String) {
    out += c
    needComma = true
  }
  mutating func comma() {
    if needComma { out += "," }
    needComma = false
  }
  mutating func key(_ k: String) {
    comma()
    string(k)
    out += ":"
    needComma = false
  }
  mutating func raw(_ s: String) {
    out += s
    needComma = true
  }
  mutating func field(_ k: String, _ v: String?) {
    guard let v else { return }
    key(k)
    string(v)
  }
  mutating func string(_ s: String) {
    out += "\""
    for ch in s.unicodeScalars {
      switch ch {
      case "\"": out += "\\\""
      case "\\": out += "\\\\"
      case "\n": out += "\\n"
      case "\r": out += "\\r"
      case "\t": out += "\\t"
      default:
        if ch.value < 0x20 {
          let h = String(ch.value, radix: 16)
          out += "\\u" + String(repeating: "0", count: 4 - h.count) + h
        } else {
          out.unicodeScalars.append(ch)
        }
      }
    }
    out += "\""
    needComma = true
  }
}
