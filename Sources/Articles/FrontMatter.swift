/// Writes an article file: `---`, the YAML front matter of DESIGN section 1, `---`, a
/// blank line, the Markdown body.
///
/// Field order follows the seeds, then the extra fields:
///
/// ```
/// category, title, excerpt, publishedDateTime, originalUrl, webUrl, type, published,
/// render_with_liquid, dateSource
/// (blank) provider: name, domain
/// (blank) topics: list
/// (blank) images: list of url, width, height
/// (blank) author, feed, id, language, fetchedDateTime
/// ```
///
/// - A field without an honest value is left out, never written empty: no `excerpt`
///   when there is none, no `originalUrl` when it equals `webUrl`, no `dateSource` when
///   the date came from the source (`dateSource: fetched` says the date is the time the
///   article was first seen), no `topics:`/`images:`/`provider:` section when empty.
///   `title`, `webUrl`, `publishedDateTime`, `fetchedDateTime` are always written.
/// - `published: false` (a curator publishes) and `render_with_liquid: false` (Jekyll
///   must never run a body taken from the network as a Liquid template) are constant.
/// - Dates are RFC 3339 in UTC, unquoted like the seeds (`2024-02-27T13:04:00Z`).
/// - `title`, `excerpt`, URLs, `author`, `id` are always double-quoted. Short names
///   (`category`, `type`, provider name and domain, topics, language) are written plain,
///   like the seeds (`name: Benzinga.com`, `- AI`), only when plain is provably safe:
///   letters first, then only letters, digits, space, `.`, `_`, `-`, and not a word YAML
///   1.1 reads as a boolean or null (`yes`, `No`, `off`, `null`, ...). Anything else is
///   double-quoted.
/// - Double-quoted strings drop NUL and U+FEFF (BOM), escape `"` and `\`, every C0 and C1 control (`\n`, `\t`, `\r`,
///   `\xHH`), DEL, U+2028/U+2029 (line breaks in YAML 1.1) and U+FFFE/U+FFFF as
///   `\uXXXX`; everything else (emoji, right-to-left text, `#`, `: `, `{{ }}`, `{% %}`,
///   `---`) is written as is. Both YAML 1.1 (PyYAML, Ruby's Psych) and YAML 1.2 (Yams)
///   parsers read back exactly the original string.
/// - The body passes through `BodySafety.sanitize` and ends with one newline.
public enum FrontMatter {
  public static func render(_ a: Article) -> String {
    // Written as UTF-8 bytes, one buffer, no intermediate strings.
    var o: [UInt8] = []
    o.reserveCapacity(a.body.utf8.count + 1024)
    func put(_ s: String) { o.append(contentsOf: s.utf8) }
    func field(_ key: String, quoted value: String) {
      put(key)
      appendQuoted(value, to: &o)
      o.append(0x0A)
    }
    func field(_ key: String, scalar value: String) {
      put(key)
      appendScalar(value, to: &o)
      o.append(0x0A)
    }
    put("---\n")
    field("category: ", scalar: a.category)
    field("title: ", quoted: a.title)
    if let e = a.excerpt, !e.isEmpty { field("excerpt: ", quoted: e) }
    put("publishedDateTime: ")
    put(RFC3339.string(from: a.published))
    o.append(0x0A)
    if let u = a.originalURL, !u.isEmpty, u != a.webURL { field("originalUrl: ", quoted: u) }
    field("webUrl: ", quoted: a.webURL)
    field("type: ", scalar: a.type)
    put("published: false\nrender_with_liquid: false\n")
    if a.dateSource == .fetched { put("dateSource: fetched\n") }

    let name = a.providerName.flatMap { $0.isEmpty ? nil : $0 }
    let domain = a.providerDomain.flatMap { $0.isEmpty ? nil : $0 }
    if name != nil || domain != nil {
      put("\nprovider:\n")
      if let name { field("  name: ", scalar: name) }
      if let domain { field("  domain: ", scalar: domain) }
    }
    if a.topics.contains(where: { !$0.isEmpty }) {
      put("\ntopics:\n")
      for t in a.topics where !t.isEmpty { field("  - ", scalar: t) }
    }
    if a.images.contains(where: { !$0.url.isEmpty }) {
      put("\nimages:\n")
      for i in a.images where !i.url.isEmpty {
        field("  - url: ", quoted: i.url)
        if let w = i.width, w > 0 { put("    width: \(w)\n") }
        if let h = i.height, h > 0 { put("    height: \(h)\n") }
      }
    }
    o.append(0x0A)
    if let v = a.author, !v.isEmpty { field("author: ", quoted: v) }
    if let v = a.feed, !v.isEmpty { field("feed: ", quoted: v) }
    if let v = a.id, !v.isEmpty { field("id: ", quoted: v) }
    if let v = a.language, !v.isEmpty { field("language: ", scalar: v) }
    put("fetchedDateTime: ")
    put(RFC3339.string(from: a.fetched))
    put("\n---\n\n")
    // The body: sanitized, leading LFs and trailing LFs and spaces trimmed, one LF after.
    var body = BodySafety.sanitize(a.body)
    body.withUTF8 { u in
      var start = 0
      var end = u.count
      while end > 0 && (u[end - 1] == 0x0A || u[end - 1] == 0x20) { end -= 1 }
      while start < end && u[start] == 0x0A { start += 1 }
      if start < end {
        o.append(contentsOf: UnsafeBufferPointer(rebasing: u[start..<end]))
        o.append(0x0A)
      }
    }
    return String(decoding: o, as: UTF8.self)
  }

  /// Words YAML 1.1 resolves to booleans or null when unquoted.
  static let reservedPlain: Set<String> = [
    "y", "n", "yes", "no", "true", "false", "on", "off", "null",
  ]

  /// The string plain when that is provably read back as the same string, else quoted.
  public static func scalar(_ s: String) -> String {
    isSafePlain(s) ? s : quoted(s)
  }

  static func appendScalar(_ s: String, to o: inout [UInt8]) {
    if isSafePlain(s) { o.append(contentsOf: s.utf8) } else { appendQuoted(s, to: &o) }
  }

  static func isSafePlain(_ s: String) -> Bool {
    let u = s.utf8
    guard let first = u.first, u.count <= 200, isAlpha(first), u.last != 0x20 else {
      return false
    }
    for b in u {
      guard isAlpha(b) || isDigit(b) || b == 0x20 || b == 0x2E || b == 0x5F || b == 0x2D else {
        return false
      }
    }
    return !(u.count <= 5 && reservedPlain.contains(s.lowercased()))
  }

  /// A YAML double-quoted scalar that YAML 1.1 and 1.2 parsers read back as `s`.
  public static func quoted(_ s: String) -> String {
    var out: [UInt8] = []
    out.reserveCapacity(s.utf8.count + 2)
    appendQuoted(s, to: &out)
    return String(decoding: out, as: UTF8.self)
  }

  static func appendQuoted(_ s: String, to out: inout [UInt8]) {
    out.append(0x22)
    var s = s
    s.withUTF8 { u in
      let n = u.count
      var i = 0
      var run = 0  // start of the bytes not yet copied
      func escape(_ text: String) {
        out.append(contentsOf: UnsafeBufferPointer(rebasing: u[run..<i]))
        out.append(contentsOf: text.utf8)
      }
      while i < n {
        let b = u[i]
        // Bytes written as they are, in runs: printable ASCII but `"` and `\`, and
        // UTF-8 bytes that cannot start a C1 control, U+2028/9, the BOM or U+FFFE/F.
        let asIs =
          (b >= 0x20 && b < 0x7F && b != 0x22 && b != 0x5C)
          || (b >= 0x80 && b != 0xC2 && b != 0xE2 && b != 0xEF)
        if asIs {
          i += 1
          continue
        }
        switch b {
        case 0x22: escape("\\\"")
        case 0x5C: escape("\\\\")
        case 0x0A: escape("\\n")
        case 0x09: escape("\\t")
        case 0x0D: escape("\\r")
        case 0x00: escape("")  // NUL is never meant: dropped
        case 0x01...0x1F, 0x7F: escape("\\x" + hex(UInt32(b), 2))
        case 0xC2 where i + 1 < n && u[i + 1] >= 0x80 && u[i + 1] <= 0x9F:  // C1 controls
          escape("\\x" + hex(UInt32(u[i + 1]), 2))
          i += 1
        case 0xEF where i + 2 < n && u[i + 1] == 0xBB && u[i + 2] == 0xBF:  // the BOM: dropped
          escape("")
          i += 2
        case 0xE2 where i + 2 < n && u[i + 1] == 0x80 && (u[i + 2] == 0xA8 || u[i + 2] == 0xA9):
          escape(u[i + 2] == 0xA8 ? "\\u2028" : "\\u2029")
          i += 2
        case 0xEF where i + 2 < n && u[i + 1] == 0xBF && (u[i + 2] == 0xBE || u[i + 2] == 0xBF):
          escape(u[i + 2] == 0xBE ? "\\uFFFE" : "\\uFFFF")
          i += 2
        default:
          i += 1
          continue
        }
        i += 1
        run = i
      }
      out.append(contentsOf: UnsafeBufferPointer(rebasing: u[run..<n]))
    }
    out.append(0x22)
  }

  /// `quoted` as first written, scalar by scalar (tests compare the two).
  static func quotedScalars(_ s: String) -> String {
    var out = "\""
    out.reserveCapacity(s.utf8.count + 2)
    for c in s.unicodeScalars {
      switch c.value {
      case 0x22: out += "\\\""
      case 0x5C: out += "\\\\"
      case 0x0A: out += "\\n"
      case 0x09: out += "\\t"
      case 0x0D: out += "\\r"
      case 0x00: break  // NUL is never meant: dropped
      case 0x01...0x1F, 0x7F...0x9F:
        out += "\\x" + hex(c.value, 2)
      case 0xFEFF: break  // a BOM inside a string means nothing (and Yams drops it)
      case 0x2028, 0x2029, 0xFFFE, 0xFFFF:
        out += "\\u" + hex(c.value, 4)
      default:
        out.unicodeScalars.append(c)
      }
    }
    out += "\""
    return out
  }

  static func hex(_ v: UInt32, _ width: Int) -> String {
    let s = String(v, radix: 16, uppercase: true)
    return String(repeating: "0", count: max(0, width - s.count)) + s
  }
}

extension Article {
  /// The whole article file: front matter and body (`FrontMatter.render`).
  public var fileText: String { FrontMatter.render(self) }
}
