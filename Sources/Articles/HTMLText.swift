import XML

/// Plain text out of HTML, for titles, excerpts and names: entities decoded (by libxml2's
/// HTML parser), tags stripped, the content of `script`, `style` and other non-text
/// elements dropped, block boundaries and `<br>` turned into spaces, HTML white space
/// folded, control characters removed (see `foldWhitespace`).
public enum HTMLText {
  /// The most bytes of one HTML fragment from a feed (a title, a summary, an item's body)
  /// that are parsed. An item of 800,000 `<li>` in 8 MB cost 388 MB of documents and
  /// nodes; a real article body is a few hundred kilobytes at most.
  public static let maxHTMLBytes = 1 << 20

  /// `html`'s UTF-8 bytes as libxml2's HTML parser is given them:
  /// - at most `maxHTMLBytes`: cut before the last `<` in them when there is one in their
  ///   second half (no tag cut in two), else after the last whole character;
  /// - a `<` that cannot open a tag (not followed by a letter, `/`, `!` or `?`) written
  ///   `&lt;`, which is what it is in HTML: libxml2 2.9 drops it with what follows
  ///   (a title `<<: *x` came out `: *x`).
  public static func boundedBytes(_ html: String) -> [UInt8] {
    let u = html.utf8
    // A native string's bytes are copied at once (the generic prefix copies byte by byte).
    var b =
      u.withContiguousStorageIfAvailable {
        Array(UnsafeBufferPointer(rebasing: $0.prefix(maxHTMLBytes)))
      }
      ?? Array(u.prefix(maxHTMLBytes))
    if u.count > maxHTMLBytes {
      if let lt = b.lastIndex(of: 0x3C), lt >= maxHTMLBytes / 2 {
        b.removeSubrange(lt...)
      } else {
        var k = b.count - 1
        while k > 0 && b[k] & 0xC0 == 0x80 { k -= 1 }  // back over continuation bytes
        if b[k] >= 0xC0 {
          let need = b[k] >= 0xF0 ? 4 : b[k] >= 0xE0 ? 3 : 2
          if b.count - k < need { b.removeSubrange(k...) }
        }
      }
    }
    func opensTag(_ i: Int) -> Bool {
      guard i + 1 < b.count else { return false }
      let c = b[i + 1] | 0x20
      return (c >= 0x61 && c <= 0x7A) || b[i + 1] == 0x2F || b[i + 1] == 0x21 || b[i + 1] == 0x3F
    }
    guard b.indices.contains(where: { b[$0] == 0x3C && !opensTag($0) }) else { return b }
    var out: [UInt8] = []
    out.reserveCapacity(b.count + 16)
    for i in b.indices {
      if b[i] == 0x3C && !opensTag(i) {
        out.append(contentsOf: "&lt;".utf8)
      } else {
        out.append(b[i])
      }
    }
    return out
  }

  /// Plain text of an HTML fragment. Strings without `<` or `&` are only folded.
  public static func plainText(fromHTML html: String) -> String {
    if !html.utf8.contains(where: { $0 == 0x3C || $0 == 0x26 }) { return foldWhitespace(html) }
    guard let doc = try? XMLDocument.parseHTML(boundedBytes(html), url: nil, encoding: "UTF-8"),
      let root = doc.root
    else { return foldWhitespace(html) }
    return plainText(of: root)
  }

  /// Plain text of an element of a parsed document (same rules as `plainText(fromHTML:)`).
  public static func plainText(of node: XMLNode) -> String {
    var out: [UInt8] = []
    collect(node, into: &out)
    // libxml2's text is UTF-8; a stray invalid byte is repaired only at the end.
    return out.withUnsafeBufferPointer { b in
      foldWhitespace(bytes: b) ?? String(decoding: b, as: UTF8.self)
    }
  }

  /// Elements whose content is never text a reader sees.
  static let invisible: Set<String> = [
    "script", "style", "noscript", "template", "head", "title", "iframe", "object", "applet",
    "svg", "math", "select", "option", "textarea", "button", "canvas", "audio", "video", "map",
  ]

  static func collect(_ node: XMLNode, into out: inout [UInt8]) {
    node.forEachChild { c in
      switch c.kind {
      case .text, .cdata:
        c.withContentBytes { out.append(contentsOf: $0) }
      case .element:
        let name = c.name
        if invisible.contains(name) { return }
        if name == "br" || name == "hr" || name == "img" {
          out.append(0x20)
          if name == "img", let alt = c.attribute("alt") {
            out.append(contentsOf: alt.utf8)
            out.append(0x20)
          }
          return
        }
        let block = MarkdownConverter.blockElements.contains(name)
        if block { out.append(0x20) }
        collect(c, into: &out)
        if block { out.append(0x20) }
      case .entityReference:
        out.append(contentsOf: c.text.utf8)
      default:
        break
      }
    }
  }

  /// Runs of HTML white space (space, tab, LF, FF, CR) and no-break spaces (`&nbsp;`, which
  /// pages use as spacing) become one space and the ends are trimmed; other controls (C0,
  /// DEL, C1 except NEL) and the BOM are dropped. Other Unicode spaces and line separators
  /// (U+2003, U+0085, U+2028, ...) are text the source chose and are kept: the front
  /// matter writer escapes what YAML needs.
  public static func foldWhitespace(_ s: String) -> String {
    // On the UTF-8 bytes: every byte dropped or folded is a whole scalar (ASCII, `C2 xx`
    // or `EF BB BF`), so the output stays valid UTF-8.
    var utf8 = s.utf8
    if let fast = utf8.withContiguousStorageIfAvailable({ foldWhitespace(bytes: $0) }) {
      return fast ?? s
    }
    var copy = s
    copy.makeContiguousUTF8()
    utf8 = copy.utf8
    return utf8.withContiguousStorageIfAvailable({ foldWhitespace(bytes: $0) })! ?? copy
  }

  /// The folded text, or nil when `b` is already folded (nothing to drop, fold or trim).
  static func foldWhitespace(bytes b: UnsafeBufferPointer<UInt8>) -> String? {
    let n = b.count
    // Already folded? Printable ASCII and plain UTF-8 with single inner spaces.
    var i = 0
    var prevSpace = true  // a leading space needs folding
    while i < n {
      let c = b[i]
      if c == 0x20 {
        if prevSpace { break }
        prevSpace = true
      } else if c < 0x20 || c == 0x7F || c == 0xC2 || c == 0xEF {
        break
      } else {
        prevSpace = false
      }
      i += 1
    }
    if i == n && !(n > 0 && b[n - 1] == 0x20) { return nil }
    var out = [UInt8]()
    out.reserveCapacity(n)
    var pendingSpace = false
    i = 0
    while i < n {
      // A run of bytes kept as they are (no white space, control, C2 or EF) at once.
      var j = i
      while j < n {
        let d = b[j]
        if d <= 0x20 || d == 0x7F || d == 0xC2 || d == 0xEF { break }
        j += 1
      }
      if j > i {
        if pendingSpace && !out.isEmpty { out.append(0x20) }
        pendingSpace = false
        out.append(contentsOf: UnsafeBufferPointer(rebasing: b[i..<j]))
        i = j
        if i == n { break }
      }
      let c = b[i]
      var len = 1
      if c < 0x80 {
        if c == 0x20 || c == 0x09 || c == 0x0A || c == 0x0C || c == 0x0D {
          pendingSpace = true
          i += 1
          continue
        }
        if c < 0x20 || c == 0x7F {
          i += 1
          continue
        }
      } else if c == 0xC2 && i + 1 < n {
        let d = b[i + 1]
        if d == 0xA0 {
          pendingSpace = true
          i += 2
          continue
        }
        if d >= 0x80 && d <= 0x9F && d != 0x85 {
          i += 2
          continue
        }
        len = 2
      } else if c == 0xEF && i + 2 < n && b[i + 1] == 0xBB && b[i + 2] == 0xBF {
        i += 3
        continue
      }
      if pendingSpace && !out.isEmpty { out.append(0x20) }
      pendingSpace = false
      out.append(c)
      if len == 2 { out.append(b[i + 1]) }
      i += len
    }
    return String(decoding: out, as: UTF8.self)
  }

  /// The original scalar-by-scalar `foldWhitespace`, kept for tests of the byte version.
  static func foldWhitespaceScalars(_ s: String) -> String {
    var out = String.UnicodeScalarView()
    var pendingSpace = false
    for c in s.unicodeScalars {
      let v = c.value
      if v == 0x20 || v == 0x09 || v == 0x0A || v == 0x0C || v == 0x0D || v == 0xA0 {
        pendingSpace = true
        continue
      }
      if v < 0x20 || v == 0x7F || (v >= 0x80 && v <= 0x9F && v != 0x85) || v == 0xFEFF {
        continue
      }
      if pendingSpace && !out.isEmpty { out.append(" ") }
      pendingSpace = false
      out.append(c)
    }
    return String(out)
  }

  /// A plain-text excerpt of at most about `maxLength` characters: the whole text when it
  /// fits, else cut after the last sentence end (`.`, `!`, `?`, `。`...) in the second
  /// half of the limit, else at the last word boundary with `…` appended.
  public static func excerpt(fromHTML html: String, maxLength: Int = 300) -> String {
    excerpt(folded: plainText(fromHTML: html), maxLength: maxLength)
  }

  /// `excerpt(fromHTML:)` for text that is already plain (folded again here).
  public static func excerpt(fromText text: String, maxLength: Int = 300) -> String {
    excerpt(folded: foldWhitespace(text), maxLength: maxLength)
  }

  /// `excerpt(folded:)` on bytes when the first maxLength + 2 bytes are ASCII (then the
  /// first maxLength + 1 characters are those bytes: nothing after them can join them),
  /// else nil. `folded` is longer than `maxLength` bytes.
  /// `excerpt(folded:)` on Unicode scalars instead of characters, when that cannot differ:
  /// every scalar looked at (and the one after) is its own grapheme cluster whatever
  /// surrounds it (Latin, Greek, Cyrillic, CJK, kana, common punctuation; no combining
  /// mark, joiner, Hangul jamo or regional indicator). nil otherwise.
  static func excerptSimple(_ folded: String, maxLength: Int) -> String? {
    var chars: [Unicode.Scalar] = []
    chars.reserveCapacity(maxLength + 2)
    for u in folded.unicodeScalars {
      guard isOwnGrapheme(u) else { return nil }
      chars.append(u)
      if chars.count == maxLength + 2 { break }
    }
    guard chars.count > maxLength else { return folded }
    let sentenceEnds: [Unicode.Scalar] = [".", "!", "?", "。", "！", "？", "…"]
    var k = maxLength - 1
    while k >= maxLength / 2 {
      if sentenceEnds.contains(chars[k]) {
        let cjk = chars[k] == "。" || chars[k] == "！" || chars[k] == "？"
        if cjk || (k + 1 < chars.count && chars[k + 1] == " ") {
          return String(String.UnicodeScalarView(chars[...k]))
        }
      }
      k -= 1
    }
    var cut = maxLength - 1
    while cut > 0 && chars[cut] != " " { cut -= 1 }
    if cut < maxLength / 2 { cut = maxLength - 1 }
    var head = chars[..<cut]
    let trailing: [Unicode.Scalar] = [" ", ",", ";", ":", "-", "–", "—"]
    while let last = head.last, trailing.contains(last) { head.removeLast() }
    return String(String.UnicodeScalarView(head)) + "…"
  }

  /// A scalar that is a grapheme cluster of its own next to any other such scalar.
  static func isOwnGrapheme(_ u: Unicode.Scalar) -> Bool {
    switch u.value {
    case 0x20...0x7E, 0xA0...0x2FF, 0x370...0x482: return true
    case 0x2010...0x2027, 0x2030...0x205E, 0x20A0...0x20C0: return true
    case 0x3000...0x3029, 0x3041...0x3096, 0x30A0...0x30FF, 0x4E00...0x9FFF: return true
    case 0xFF01...0xFF60: return true
    default: return false
    }
  }

  static func excerptASCII(_ folded: String, maxLength: Int) -> String? {
    let chars = Array(folded.utf8.prefix(maxLength + 2))
    guard !chars.contains(where: { $0 >= 0x80 }) else { return nil }
    var k = maxLength - 1
    while k >= maxLength / 2 {
      let c = chars[k]
      if (c == 0x2E || c == 0x21 || c == 0x3F) && k + 1 < chars.count && chars[k + 1] == 0x20 {
        return String(decoding: chars[...k], as: UTF8.self)
      }
      k -= 1
    }
    var cut = maxLength - 1
    while cut > 0 && chars[cut] != 0x20 { cut -= 1 }
    if cut < maxLength / 2 { cut = maxLength - 1 }
    var head = chars[..<cut]
    while let last = head.last,
      last == 0x20 || last == 0x2C || last == 0x3B || last == 0x3A || last == 0x2D
    {
      head.removeLast()
    }
    return String(decoding: head, as: UTF8.self) + "…"
  }

  /// Bytes allowed per character of an excerpt's length: a character of more (combining
  /// marks piled on one letter) is cut down to them.
  public static let bytesPerCharacterCap = 16

  /// `excerpt(fromText:)` of text that `foldWhitespace` already folded.
  static func excerpt(folded: String, maxLength: Int) -> String {
    // Never more characters than UTF-8 bytes: a short text fits without counting.
    guard folded.utf8.count > maxLength, maxLength > 1 else { return folded }
    let byteCap = bytesPerCharacterCap * maxLength
    if folded.utf8.count > byteCap {
      // Whole scalars up to the cap, then the usual cut on what is left.
      var scalars = String.UnicodeScalarView()
      var bytes = 0
      for u in folded.unicodeScalars {
        bytes += UTF8.width(u)
        if bytes > byteCap { break }
        scalars.append(u)
      }
      return excerpt(folded: String(scalars), maxLength: maxLength)
    }
    if let ascii = excerptASCII(folded, maxLength: maxLength) { return ascii }
    if let simple = excerptSimple(folded, maxLength: maxLength) { return simple }
    return excerptCharacters(folded, maxLength: maxLength)
  }

  /// The cut of `excerpt(folded:)` on characters (grapheme clusters): the general case.
  static func excerptCharacters(_ folded: String, maxLength: Int) -> String {
    // Only the first maxLength + 1 characters are ever looked at.
    let chars = Array(folded.prefix(maxLength + 1))
    guard chars.count > maxLength else { return folded }
    let sentenceEnds: Set<Character> = [".", "!", "?", "。", "！", "？", "…"]
    // A sentence end followed by a space (or a CJK full stop) within the limit.
    var k = maxLength - 1
    while k >= maxLength / 2 {
      if sentenceEnds.contains(chars[k]) {
        let cjk = chars[k] == "。" || chars[k] == "！" || chars[k] == "？"
        if cjk || (k + 1 < chars.count && chars[k + 1] == " ") {
          return String(chars[...k])
        }
      }
      k -= 1
    }
    // Else the last word boundary, leaving room for the ellipsis.
    var cut = maxLength - 1
    while cut > 0 && chars[cut] != " " { cut -= 1 }
    if cut < maxLength / 2 { cut = maxLength - 1 }  // one very long word (or CJK text)
    var head = String(chars[..<cut])
    while let last = head.last,
      last == " " || last == "," || last == ";" || last == ":"
        || last == "-" || last == "–" || last == "—"
    {
      head.removeLast()
    }
    return head + "…"
  }
}
