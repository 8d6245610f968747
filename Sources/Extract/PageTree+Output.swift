extension PageTree {
  static let textBlockTags: Set<String> = [
    "address", "article", "aside", "blockquote", "dd", "div", "dl", "dt", "fieldset",
    "figure", "figcaption", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header",
    "hr", "li", "main", "nav", "ol", "p", "pre", "section", "table", "ul", "tr", "br",
    "caption", "tbody", "thead", "tfoot", "details", "summary", "center", "picture",
  ]

  /// Plain text of the subtrees `roots`: block elements start new lines, runs of
  /// whitespace fold to one space except inside `<pre>`, table cells are separated by a
  /// tab.
  func plainText(_ roots: [Int]) -> String {
    var out = ""
    var line = ""
    var preDepth = 0
    func flush() {
      let t = preDepth > 0 ? line : foldWhitespace(line)
      if !t.isEmpty || preDepth > 0 {
        if !t.trimmingSpaces().isEmpty {
          if !out.isEmpty { out += "\n" }
          out += t
        }
      }
      line = ""
    }
    // Events: positive = enter node, negative-1 = leave element.
    var stack: [Int] = roots.reversed()
    while let e = stack.popLast() {
      if e < 0 {
        let i = -e - 1
        let n = name[i]
        if n == "pre" {
          flush()
          preDepth -= 1
        } else if n == "td" || n == "th" {
          line += "\t"
        } else if PageTree.textBlockTags.contains(n) {
          flush()
        }
        continue
      }
      if removed[e] { continue }
      if kind[e] == .text {
        line += text[e]
        continue
      }
      let n = name[e]
      if n == "br" {
        if preDepth > 0 { line += "\n" } else { flush() }
        continue
      }
      if n == "img" {
        continue
      }
      if n == "pre" {
        flush()
        preDepth += 1
      } else if PageTree.textBlockTags.contains(n) {
        flush()
      }
      stack.append(-e - 1)
      stack.append(contentsOf: children[e].reversed())
    }
    flush()
    return out
  }

  static let voidTags: Set<String> = [
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
    "track", "wbr",
  ]
  static let keptAttributes: Set<String> = [
    "href", "src", "alt", "title", "colspan", "rowspan", "datetime", "cite", "lang", "dir",
    "start", "reversed", "type", "headers", "scope", "abbr", "srcset", "width", "height",
  ]
  /// Elements serialized as their children only (wrappers with no meaning of their own).
  static let unwrapTags: Set<String> = ["span", "font", "center", "main", "body", "html"]

  /// Serializes `roots` as clean HTML: only structural elements and meaningful attributes
  /// are kept, URLs are made absolute against `base`, lazy-loaded images get their real
  /// source, and nothing executable survives (the junk tags were removed before).
  func cleanHTML(_ roots: [Int], base: String?) -> String {
    var out = ""
    var stack: [Int] = roots.reversed()
    while let e = stack.popLast() {
      if e < 0 {
        let i = -e - 1
        out += "</" + name[i] + ">"
        continue
      }
      if removed[e] { continue }
      if kind[e] == .text {
        escapeText(text[e], into: &out)
        continue
      }
      let n = name[e]
      if PageTree.unwrapTags.contains(n) || n.utf8.contains(UInt8(ascii: ":")) || n.isEmpty
        || !n.utf8.allSatisfy({ ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) })
      {
        stack.append(contentsOf: children[e].reversed())
        continue
      }
      out += "<" + n
      var pairs: [(String, String)] = []
      for a in attrs[e] where PageTree.keptAttributes.contains(a.name) {
        var v = a.value
        if a.name == "href" || a.name == "src" || a.name == "cite" {
          let lower = v.trimmingSpaces().lowercased()
          if lower.hasPrefix("javascript:") || lower.hasPrefix("vbscript:") { continue }
          if a.name == "href" && v.hasPrefix("#") {
            pairs.append((a.name, v))
            continue
          }
          guard let r = resolveURL(v, base: base) else { continue }
          v = r
        }
        if a.name == "srcset" { continue }
        pairs.append((a.name, v))
      }
      if n == "img", let real = imageSource(e, base: base) {
        pairs.removeAll { $0.0 == "src" }
        pairs.insert(("src", real), at: 0)
      }
      for (k, v) in pairs {
        out += " " + k + "=\""
        escapeAttribute(v, into: &out)
        out += "\""
      }
      out += ">"
      if PageTree.voidTags.contains(n) { continue }
      stack.append(-e - 1)
      stack.append(contentsOf: children[e].reversed())
    }
    return out
  }

  /// The real image URL of an `<img>`: `src` unless it is a placeholder and a lazy-load
  /// attribute (`data-src`, `data-original`, `data-lazy-src`, first `srcset` entry) has one.
  func imageSource(_ i: Int, base: String?) -> String? {
    let src = attr(i, "src")?.trimmingSpaces() ?? ""
    let placeholder = src.isEmpty || src.hasPrefix("data:")
    if placeholder {
      for key in ["data-src", "data-original", "data-lazy-src", "data-url", "data-hi-res-src"] {
        if let v = attr(i, key), !v.trimmingSpaces().isEmpty { return resolveURL(v, base: base) }
      }
      for key in ["srcset", "data-srcset"] {
        if let v = attr(i, key), let firstCandidate = v.split(separator: ",").first,
          let u = firstCandidate.split(separator: " ").first
        {
          return resolveURL(String(u), base: base)
        }
      }
      return src.isEmpty ? nil : src
    }
    return resolveURL(src, base: base)
  }

  func escapeText(_ s: String, into out: inout String) {
    escapeMarkup(s, quotes: false, into: &out)
  }

  func escapeAttribute(_ s: String, into out: inout String) {
    escapeMarkup(s, quotes: true, into: &out)
  }
}

/// Appends `s` with `&`, `<`, `>` (and `"` when `quotes`) escaped and NULs dropped,
/// copying safe runs of bytes at once.
func escapeMarkup(_ s: String, quotes: Bool, into out: inout String) {
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
      let replacement: String?
      switch b {
      case UInt8(ascii: "&"): replacement = "&amp;"
      case UInt8(ascii: "<"): replacement = "&lt;"
      case UInt8(ascii: ">"): replacement = "&gt;"
      case UInt8(ascii: "\""): replacement = quotes ? "&quot;" : nil
      case 0: replacement = ""
      default: replacement = nil
      }
      if let replacement {
        flush(i)
        out += replacement
        runStart = i + 1
      }
      i += 1
    }
    flush(src.count)
  }
}
