import Foundation
import XML

/// The Markdown body of an article and the images it shows.
public struct MarkdownConversion: Sendable, Equatable {
  /// CommonMark (with GFM tables and strikethrough), ends without a newline.
  public var markdown: String
  /// Every image of the body, absolute http(s), in order, without duplicates; width and
  /// height when the `<img>` declared them.
  public var images: [Article.Image]
}

/// HTML (a fragment, a document, or an element of a parsed document) to a Markdown body,
/// using libxml2's HTML parser from the XML module.
///
/// What a reader gets:
/// - paragraphs, `#` headings, `-` and `1.` lists (nested, `start` kept), `>` quotes,
///   fenced code blocks with the whitespace of `<pre>` intact (language from a
///   `language-x`/`lang-x` class), inline code, `*emphasis*`, `**strong**`,
///   `~~strikethrough~~`, links and images with absolute URLs (resolved against the base
///   URL and the document's `<base href>`, normalized like `CanonicalURL`, tracking
///   parameters removed from links), GFM pipe tables when every cell is simple text (else
///   the cells as paragraphs), `*figure captions*`, `<br>` as hard line breaks (two as a
///   paragraph break), `* * *` for `<hr>`, definition terms in bold.
/// - Lazy-loaded images (`data-src`, `data-original`, `data-lazy-src`, `srcset`) are
///   found, and so are images only given inside `<noscript>`; 1x1 tracking pixels are
///   dropped.
/// - Dropped with their content: `script`, `style`, `noscript`, `iframe`, `frame`,
///   `object`, `embed`, `applet`, `form` and its controls, `svg`, `template`, `canvas`,
///   `audio`, `video`, `map`, `head`, and elements marked `hidden`, `aria-hidden="true"`
///   or `display:none`.
/// - Links whose URL is not http(s) or `mailto:` (`javascript:`, `data:`, `vbscript:`,
///   `file:`, relative without a base, in-page `#anchors`) keep their text, lose the link.
/// - Never raw HTML: text is escaped (`\*`, `\_`, `\[`, `` \` ``, `\\`, `&lt;` for `<`, a
///   `#`, `>`, `-`, `+`, `=` or `1.` at a line start), so that `<script>` shown as text
///   stays text; then `BodySafety.sanitize` breaks any active markup left in code.
/// - Deterministic; no trailing spaces; exactly one blank line between blocks.
public enum MarkdownConverter {
  /// Converts an HTML fragment or document given as a string.
  /// (At most `HTMLText.maxHTMLBytes` of it.)
  public static func convert(html: String, baseURL: String?) -> MarkdownConversion {
    convert(bytes: HTMLText.boundedBytes(html), baseURL: baseURL, encoding: "UTF-8")
  }

  /// `convert(html:baseURL:)` and `HTMLText.plainText(fromHTML:)` of the same string from
  /// one parse (a feed item whose summary is also its body).
  public static func convertWithPlainText(html: String, baseURL: String?) -> (
    conversion: MarkdownConversion, plainText: String
  ) {
    let empty = MarkdownConversion(markdown: "", images: [])
    guard !html.isEmpty else { return (empty, "") }
    guard
      let doc = try? XMLDocument.parseHTML(
        HTMLText.boundedBytes(html), url: baseURL, encoding: "UTF-8"),
      let root = doc.root
    else { return (empty, HTMLText.foldWhitespace(html)) }
    let text =
      html.utf8.contains(where: { $0 == 0x3C || $0 == 0x26 })
      ? HTMLText.plainText(of: root) : HTMLText.foldWhitespace(html)
    return (convert(root.firstElement("body") ?? root, baseURL: baseURL), text)
  }

  /// Converts HTML bytes; `encoding` (an IANA name) overrides what the document declares.
  public static func convert(bytes: [UInt8], baseURL: String?, encoding: String? = nil)
    -> MarkdownConversion
  {
    guard !bytes.isEmpty,
      let doc = try? XMLDocument.parseHTML(
        bytes, url: baseURL, encoding: encoding ?? MarkdownConverter.sniffUTF8(bytes)),
      let root = doc.root
    else { return MarkdownConversion(markdown: "", images: []) }
    let body = root.firstElement("body") ?? root
    return convert(body, baseURL: baseURL)
  }

  /// "UTF-8" when no encoding is given and the bytes are valid UTF-8 with some non-ASCII:
  /// libxml2 2.9 reads a page as Latin-1 (`VitÃ³rias`) when non-ASCII bytes come before
  /// its `<meta charset="utf-8">` (seen on a real page: a comment in the body before it). Real Latin-1 text is almost never valid
  /// UTF-8, so this only fixes, never breaks; otherwise the document's declaration rules.
  static func sniffUTF8(_ bytes: [UInt8]) -> String? {
    var start = 0
    if bytes.count >= 3 && bytes[0] == 0xEF && bytes[1] == 0xBB && bytes[2] == 0xBF { start = 3 }
    if bytes.count >= 2 && (bytes[0] == 0xFE || bytes[0] == 0xFF) { return nil }  // UTF-16 BOM
    guard bytes[start...].contains(where: { $0 >= 0x80 }) else { return nil }
    return String(validating: bytes[start...], as: UTF8.self) != nil ? "UTF-8" : nil
  }

  /// Converts the content of one element (e.g. the main content an extractor chose). The
  /// document's `<base href>` is honoured, resolved against `baseURL`.
  public static func convert(_ node: XMLNode, baseURL: String?) -> MarkdownConversion {
    let r = Renderer(base: effectiveBase(node.document, baseURL))
    let blocks = r.blocks(node, depth: 0)
    let joined = blocks.joined(separator: "\n\n")
    return MarkdownConversion(
      markdown: stripTrailingSpaces(BodySafety.sanitize(joined)), images: r.images)
  }

  /// Spaces and tabs at line ends removed (on the UTF-8 bytes).
  static func stripTrailingSpaces(_ s: String) -> String {
    var s = s
    let stripped: [UInt8]? = s.withUTF8 { u in
      // Most text has none: no copy then.
      func spaceOrTab(_ c: UInt8) -> Bool { c == 0x20 || c == 0x09 }
      var found = !u.isEmpty && spaceOrTab(u[u.count - 1])
      var i = 1
      while !found && i < u.count {
        if u[i] == 0x0A && spaceOrTab(u[i - 1]) { found = true }
        i += 1
      }
      guard found else { return nil }
      var out: [UInt8] = []
      out.reserveCapacity(u.count)
      for c in u {
        if c == 0x0A {
          while let last = out.last, spaceOrTab(last) { out.removeLast() }
        }
        out.append(c)
      }
      while let last = out.last, spaceOrTab(last) { out.removeLast() }
      return out
    }
    guard let stripped else { return s }
    return String(decoding: stripped, as: UTF8.self)
  }

  /// `<base href>` of the document resolved against `baseURL`, else `baseURL`.
  static func effectiveBase(_ doc: XMLDocument, _ baseURL: String?) -> String? {
    guard let root = doc.root, let head = root.firstElement("head"),
      let href = head.firstElement("base")?.attribute("href"),
      let resolved = CanonicalURL.normalize(href, base: baseURL, removingTracking: false)
    else { return baseURL }
    return resolved
  }

  /// Elements that start a new block (shared with `HTMLText`).
  public static let blockElements: Set<String> = [
    "p", "div", "section", "article", "main", "header", "footer", "nav", "aside", "address",
    "h1", "h2", "h3", "h4", "h5", "h6", "hgroup", "ul", "ol", "li", "dl", "dt", "dd", "menu",
    "dir", "blockquote", "pre", "listing", "xmp", "table", "thead", "tbody", "tfoot", "tr",
    "td", "th", "caption", "figure", "figcaption", "hr", "details", "summary", "fieldset",
    "legend", "center", "body", "html", "form", "br",
  ]

  /// Elements dropped with everything inside.
  public static let droppedElements: Set<String> = [
    "script", "style", "noscript", "iframe", "frame", "frameset", "noframes", "object",
    "applet", "param", "form", "button", "input", "select", "option", "optgroup",
    "textarea", "datalist", "output", "svg", "template", "canvas", "audio", "video", "map",
    "area", "head", "title", "meta", "link", "base", "dialog", "portal", "slot",
  ]

  /// Void elements (no content in HTML) that libxml2 2.9's HTML 4 parser nests the
  /// following content into: the element is dropped, what it swallowed is kept.
  public static let voidButNesting: Set<String> = ["embed", "source", "track", "wbr", "keygen"]
}

/// Inline Markdown being built for one paragraph (or heading, cell, link text...), as
/// UTF-8 bytes so that the line-start and hard-break checks are O(1).
struct InlineBuffer {
  var b: [UInt8] = []
  var pendingSpace = false
  /// White space came before any content (to be moved outside `*...*` and `[...]`).
  var leadingSpace = false

  var s: String { String(decoding: b, as: UTF8.self) }
  var isEmpty: Bool { b.isEmpty }
  var atLineStart: Bool { b.isEmpty || b.last == 0x0A }
  var endsWithBreak: Bool { b.count >= 2 && b[b.count - 1] == 0x0A && b[b.count - 2] == 0x5C }

  mutating func removeTrailingBreaks() -> Bool {
    var removed = false
    while endsWithBreak {
      b.removeLast(2)
      removed = true
    }
    return removed
  }

  mutating func space() {
    if b.isEmpty {
      leadingSpace = true
    } else if !atLineStart {
      pendingSpace = true
    }
  }

  mutating func flushSpace() {
    if pendingSpace {
      b.append(0x20)
      pendingSpace = false
    }
  }

  /// Already-escaped Markdown (emphasis, links, images, code spans).
  mutating func raw(_ md: String) {
    guard !md.isEmpty else { return }
    flushSpace()
    b.append(contentsOf: md.utf8)
  }

  mutating func raw(_ bytes: [UInt8]) {
    guard !bytes.isEmpty else { return }
    flushSpace()
    b.append(contentsOf: bytes)
  }

  mutating func hardBreak() {
    pendingSpace = false
    guard !b.isEmpty, !atLineStart else { return }
    b.append(0x5C)
    b.append(0x0A)
  }

  static let amp: [UInt8] = Array("&amp;".utf8)
  static let lt: [UInt8] = Array("&lt;".utf8)

  /// Text of a text node: HTML white space collapsed, Markdown metacharacters escaped,
  /// control characters dropped.
  mutating func text(_ t: String) {
    var t = t
    t.withUTF8 { text(bytes: $0) }
  }

  /// `text` of UTF-8 bytes (a text node's content, read in place).
  mutating func text(bytes u: UnsafeBufferPointer<UInt8>) {
    let n = u.count
    var i = 0
    while i < n {
      // A run of bytes that need nothing (most of any text) goes in at once.
      var j = i
      while j < n && InlineBuffer.isPlain(u[j]) { j += 1 }
      if j > i {
        flushSpace()
        b.append(contentsOf: UnsafeBufferPointer(rebasing: u[i..<j]))
        i = j
        if i == n { break }
      }
      let c = u[i]
      defer { i += 1 }
      switch c {
      case 0x20, 0x09, 0x0A, 0x0C, 0x0D:
        space()
        continue
      case 0x00..<0x20, 0x7F:
        continue
      case 0xC2 where i + 1 < n && u[i + 1] >= 0x80 && u[i + 1] <= 0x9F:
        i += 1  // C1 control
        continue
      case 0xEF where i + 2 < n && u[i + 1] == 0xBB && u[i + 2] == 0xBF:
        i += 2  // BOM
        continue
      default:
        break
      }
      flushSpace()
      switch c {
      case 0x5C, 0x2A, 0x5F, 0x60, 0x5B, 0x5D, 0x7E, 0x7C:  // \ * _ ` [ ] ~ |
        b.append(0x5C)
        b.append(c)
      case 0x3C:  // <
        b.append(contentsOf: InlineBuffer.lt)
      case 0x26:  // & only where it would start an entity reference
        var j = i + 1
        while j < n, j - i <= 32, isAlpha(u[j]) || isDigit(u[j]) || u[j] == 0x23 { j += 1 }
        if j > i + 1 && j < n && u[j] == 0x3B {
          b.append(contentsOf: InlineBuffer.amp)
        } else {
          b.append(c)
        }
      case 0x23, 0x3E, 0x2D, 0x2B, 0x3D:  // # > - + = at a line start
        if atLineStart { b.append(0x5C) }
        b.append(c)
      default:
        b.append(c)
      }
    }
  }

  /// Bytes `text` copies as they are: not white space, a control, the lead byte of a C1
  /// control or a BOM, or a Markdown metacharacter.
  @inline(__always) static func isPlain(_ c: UInt8) -> Bool {
    switch c {
    case 0x00...0x20, 0x7F, 0xC2, 0xEF: return false
    case 0x5C, 0x2A, 0x5F, 0x60, 0x5B, 0x5D, 0x7E, 0x7C, 0x3C, 0x26: return false
    case 0x23, 0x3E, 0x2D, 0x2B, 0x3D: return false
    default: return true
    }
  }

  /// The paragraph text: trailing breaks removed, a line that would read as an ordered
  /// list item (`2024. A year`) escaped. The bytes are copied again only from the first
  /// such line on (most paragraphs have none).
  func finished() -> String {
    var out = self
    _ = out.removeTrailingBreaks()
    while let last = out.b.last, last == 0x20 || last == 0x0A { out.b.removeLast() }
    let u = out.b
    var result: [UInt8]?
    var copied = 0
    var lineStart = true
    var i = 0
    while i < u.count {
      if lineStart && isDigit(u[i]) {
        var j = i
        while j < u.count && isDigit(u[j]) { j += 1 }
        if j - i <= 9 && j < u.count && (u[j] == 0x2E || u[j] == 0x29) {
          if result == nil {
            result = Array(u[..<j])
          } else {
            result!.append(contentsOf: u[copied..<j])
          }
          result!.append(0x5C)
          copied = j
        }
        i = j
        lineStart = false
        continue
      }
      lineStart = u[i] == 0x0A
      i += 1
    }
    guard var result else { return String(decoding: u, as: UTF8.self) }
    result.append(contentsOf: u[copied...])
    return String(decoding: result, as: UTF8.self)
  }
}

/// The blocks of one container (the body, a list item, a quote, a table cell).
struct BlockContext {
  var blocks: [String] = []
  var inline = InlineBuffer()

  mutating func flush() {
    let p = inline.finished()
    if !p.isEmpty { blocks.append(p) }
    inline = InlineBuffer()
  }

  mutating func add(_ block: String) {
    flush()
    if !block.isEmpty { blocks.append(block) }
  }
}

final class Renderer {
  let base: String?
  var images: [Article.Image] = []
  var seenImages: Set<String> = []
  static let maxDepth = 400
  /// Quotes and lists nested deeper than this read as their parent's blocks: each level
  /// re-indents everything inside it, and 100 nested quotes around 8,000 paragraphs took
  /// 100 s for a 654 KB feed (and wrote 3 MB files of `> > > ...`).
  static let maxNesting = 8
  /// Quotes and lists open around the element being rendered.
  var nesting = 0

  init(base: String?) { self.base = base }

  /// The blocks of a container element.
  func blocks(_ node: XMLNode, depth: Int) -> [String] {
    var ctx = BlockContext()
    walk(node, &ctx, depth: depth)
    ctx.flush()
    return Renderer.separateAdjacentLists(ctx.blocks)
  }

  /// Two lists in a row would read as one loose list in Markdown: the second of a pair
  /// gets the other marker (`*` for `-`, `1)` for `1.`), which starts a new list.
  static func separateAdjacentLists(_ blocks: [String]) -> [String] {
    var out = blocks
    var previous: (ordered: Bool, switched: Bool)? = nil
    for i in out.indices {
      let b = out[i]
      let ordered: Bool? = b.hasPrefix("- ") ? false : (isListBlock(b) ? true : nil)
      guard let ordered else {
        previous = nil
        continue
      }
      if let p = previous, p.ordered == ordered, !p.switched {
        out[i] = switchMarkers(b, ordered: ordered)
        previous = (ordered, true)
      } else {
        previous = (ordered, false)
      }
    }
    return out
  }

  static func switchMarkers(_ block: String, ordered: Bool) -> String {
    block.split(separator: "\n", omittingEmptySubsequences: false).map { line -> String in
      if !ordered {
        return line.hasPrefix("- ") ? "* " + line.dropFirst(2) : String(line)
      }
      let digits = line.prefix { $0.isASCII && $0.isNumber }
      guard !digits.isEmpty, line.dropFirst(digits.count).hasPrefix(". ") else {
        return String(line)
      }
      return digits + ")" + line.dropFirst(digits.count + 1)
    }.joined(separator: "\n")
  }

  /// The content of an element as one line of inline Markdown (headings, cells).
  func inlineLine(_ node: XMLNode, depth: Int) -> String {
    let line = blocks(node, depth: depth).joined(separator: " ")
    guard line.utf8.contains(0x0A) else { return line }  // nothing to replace (the common case)
    return line.replacingOccurrences(of: "\\\n", with: " ")
      .replacingOccurrences(of: "\n", with: " ")
  }

  static func isHidden(_ e: XMLNode) -> Bool {
    if e.attribute("hidden") != nil { return true }
    if e.attribute("aria-hidden")?.lowercased() == "true" { return true }
    if let style = e.attribute("style") {
      let compact = String(style.lowercased().filter { !$0.isWhitespace })
      if compact.contains("display:none") || compact.contains("visibility:hidden") { return true }
    }
    return false
  }

  /// Walks the children of `node` into `ctx`.
  func walk(_ node: XMLNode, _ ctx: inout BlockContext, depth: Int) {
    guard depth < Renderer.maxDepth else { return }
    node.forEachChild { child in
      switch child.kind {
      case .text, .cdata:
        child.withContentBytes { ctx.inline.text(bytes: $0) }
      case .entityReference:
        ctx.inline.text(child.text)
      case .element:
        element(child, &ctx, depth: depth + 1)
      default:
        break
      }
    }
  }

  func element(_ e: XMLNode, _ ctx: inout BlockContext, depth: Int) {
    let name = e.name
    if name == "noscript" {
      noscriptImages(e, &ctx)
      return
    }
    if MarkdownConverter.droppedElements.contains(name) || Renderer.isHidden(e) { return }
    if MarkdownConverter.voidButNesting.contains(name) {
      walk(e, &ctx, depth: depth)
      return
    }
    switch name {
    case "h1", "h2", "h3", "h4", "h5", "h6":
      let level = Int(String(name.last!))!
      let text = inlineLine(e, depth: depth)
      if text.isEmpty { return }
      ctx.add(String(repeating: "#", count: level) + " " + text)
    case "ul", "ol", "menu", "dir":
      if nesting >= Renderer.maxNesting {
        walk(e, &ctx, depth: depth)
      } else {
        ctx.add(list(e, ordered: name == "ol", depth: depth))
      }
    case "blockquote":
      if nesting >= Renderer.maxNesting {
        walk(e, &ctx, depth: depth)
      } else {
        nesting += 1
        let inner = blocks(e, depth: depth).joined(separator: "\n\n")
        nesting -= 1
        ctx.add(Renderer.prefixLines(inner, first: "> ", rest: "> "))
      }
    case "pre", "listing", "xmp":
      ctx.add(codeBlock(e))
    case "table":
      table(e, &ctx, depth: depth)
    case "hr":
      ctx.add("* * *")
    case "br":
      if ctx.inline.endsWithBreak {
        ctx.flush()
      } else {
        ctx.inline.hardBreak()
      }
    case "figcaption", "caption", "summary", "legend":
      let text = inlineLine(e, depth: depth)
      ctx.add(text.isEmpty ? "" : "*" + text + "*")
    case "dt":
      let text = inlineLine(e, depth: depth)
      ctx.add(text.isEmpty ? "" : "**" + text + "**")
    case "img":
      if let md = image(e) { ctx.inline.raw(md) }
    case "a":
      link(e, &ctx, depth: depth)
    case "em", "i", "cite", "dfn", "var":
      wrapped(e, "*", "*", &ctx, depth: depth)
    case "strong", "b":
      wrapped(e, "**", "**", &ctx, depth: depth)
    case "del", "s", "strike":
      wrapped(e, "~~", "~~", &ctx, depth: depth)
    case "q":
      wrapped(e, "“", "”", &ctx, depth: depth)
    case "code", "kbd", "samp", "tt":
      if hasBlock(e, depth: depth) {
        walk(e, &ctx, depth: depth)
      } else {
        ctx.inline.raw(Renderer.codeSpan(Renderer.rawText(e)))
      }
    default:
      if MarkdownConverter.blockElements.contains(name) {
        ctx.flush()
        walk(e, &ctx, depth: depth)
        ctx.flush()
      } else {
        walk(e, &ctx, depth: depth)  // span, font, abbr, time, sup, custom elements...
      }
    }
  }

  /// True when a block element is inside `e` (then an inline wrapper is dropped).
  func hasBlock(_ e: XMLNode, depth: Int) -> Bool {
    var found = false
    e.walkElements { c in
      if found { return false }
      if MarkdownConverter.droppedElements.contains(c.name) { return false }
      if MarkdownConverter.blockElements.contains(c.name) && c.name != "br" {
        found = true
        return false
      }
      return true
    }
    return found
  }

  /// Inline content of `e` rendered on its own, for wrapping.
  func inner(_ e: XMLNode, depth: Int) -> InlineBuffer {
    var sub = BlockContext()
    walk(e, &sub, depth: depth)
    if !sub.blocks.isEmpty {  // a double <br> split it: keep it on one paragraph
      var merged = InlineBuffer()
      merged.leadingSpace = sub.inline.leadingSpace
      merged.b = Array(
        (sub.blocks + [sub.inline.s]).filter { !$0.isEmpty }.joined(separator: "\\\n").utf8)
      merged.pendingSpace = sub.inline.pendingSpace
      return merged
    }
    return sub.inline
  }

  func wrapped(
    _ e: XMLNode, _ open: String, _ close: String, _ ctx: inout BlockContext, depth: Int
  ) {
    if hasBlock(e, depth: depth) {
      walk(e, &ctx, depth: depth)
      return
    }
    var buf = inner(e, depth: depth)
    let trailingBreak = buf.removeTrailingBreaks()
    if buf.leadingSpace { ctx.inline.space() }
    if !buf.isEmpty { ctx.inline.raw(open + buf.s + close) }
    if trailingBreak { ctx.inline.hardBreak() }
    if buf.pendingSpace { ctx.inline.space() }
  }

  func link(_ e: XMLNode, _ ctx: inout BlockContext, depth: Int) {
    guard let href = e.attribute("href"), let url = linkURL(href) else {
      walk(e, &ctx, depth: depth)
      return
    }
    if hasBlock(e, depth: depth) {
      walk(e, &ctx, depth: depth)
      return
    }
    let buf = inner(e, depth: depth)
    if buf.leadingSpace { ctx.inline.space() }
    if !buf.isEmpty {
      let text =
        buf.s.utf8.contains(0x0A) ? buf.s.replacingOccurrences(of: "\\\n", with: " ") : buf.s
      ctx.inline.raw("[" + text + "](" + Renderer.destination(url) + ")")
    }
    if buf.pendingSpace { ctx.inline.space() }
  }

  /// An absolute, safe link target, or nil (the text stays, the link goes).
  func linkURL(_ href: String) -> String? {
    let trimmed = Renderer.trimmed(href)
    if trimmed.utf8.first == 0x23 { return nil }  // "#anchor": in-page only
    if Renderer.hasASCIIPrefix(trimmed, "mailto:") {
      let ok = trimmed.unicodeScalars.allSatisfy {
        $0.value > 0x20 && $0.value != 0x7F && !"<>()\\\"'`".unicodeScalars.contains($0)
      }
      return ok && trimmed.utf8.count > 7 && Renderer.safe(trimmed) ? trimmed : nil
    }
    guard let url = CanonicalURL.normalize(trimmed, base: base, removingTracking: true),
      Renderer.safe(url)
    else { return nil }
    return url
  }

  /// ASCII white space and controls off both ends.
  static func trimmed(_ s: String) -> String {
    let u = s.utf8
    guard let first = u.firstIndex(where: { $0 > 0x20 }) else { return "" }
    let last = u.lastIndex(where: { $0 > 0x20 })!
    if first == u.startIndex && last == u.index(before: u.endIndex) { return s }
    return String(s[first...last])
  }

  static func hasASCIIPrefix(_ s: String, _ prefix: String) -> Bool {
    let a = Array(s.utf8.prefix(prefix.utf8.count))
    return a.count == prefix.utf8.count && zip(a, prefix.utf8).allSatisfy { asciiLower($0) == $1 }
  }

  /// Case-insensitive (ASCII) substring test on the UTF-8 bytes.
  static func containsASCII(_ s: String, _ needle: String) -> Bool {
    let h = Array(s.utf8)
    let n = Array(needle.utf8)
    guard h.count >= n.count else { return false }
    var i = 0
    while i + n.count <= h.count {
      var k = 0
      while k < n.count && asciiLower(h[i + k]) == n[k] { k += 1 }
      if k == n.count { return true }
      i += 1
    }
    return false
  }

  /// No scheme-like `script:` or `data:text/html` anywhere inside (e.g. in a query).
  static func safe(_ url: String) -> Bool {
    !containsASCII(url, "script:") && !containsASCII(url, "script%3a")
      && !containsASCII(url, "data:text/html")
  }

  /// A link destination: parentheses escaped (everything else is percent-encoded).
  static func destination(_ url: String) -> String {
    var out = ""
    for c in url.unicodeScalars {
      if c == "(" || c == ")" || c == "\\" { out += "\\" }
      out.unicodeScalars.append(c)
    }
    return out
  }

  // MARK: - Images

  func imageSource(_ e: XMLNode) -> String? {
    var candidates: [String] = []
    if let src = e.attribute("src") { candidates.append(src) }
    for a in ["data-src", "data-original", "data-lazy-src", "data-url"] {
      if let v = e.attribute(a) { candidates.append(v) }
    }
    for a in ["srcset", "data-srcset"] {
      if let set = e.attribute(a),
        let first = set.split(separator: ",").first?.split(separator: " ").first
      {
        candidates.append(String(first))
      }
    }
    for c in candidates {
      let t = Renderer.trimmed(c)
      if t.isEmpty || Renderer.hasASCIIPrefix(t, "data:") { continue }
      if let url = CanonicalURL.normalize(t, base: base, removingTracking: false),
        Renderer.safe(url)
      {
        return url
      }
    }
    return nil
  }

  static func dimension(_ s: String?) -> Int? {
    guard let s else { return nil }
    // The usual value (`600`, ` 600px`) on its bytes; anything else non-ASCII first below.
    let u = s.utf8
    var i = u.startIndex
    while i != u.endIndex && (u[i] == 0x20 || u[i] == 0x09) { i = u.index(after: i) }
    if i == u.endIndex || u[i] < 0x80 {
      var v = 0
      var count = 0
      while i != u.endIndex && isDigit(u[i]) && count <= 6 {
        v = v * 10 + Int(u[i] - 0x30)
        count += 1
        i = u.index(after: i)
      }
      return count == 0 || count > 6 || v == 0 ? nil : v
    }
    let digits = s.trimmingCharacters(in: .whitespaces).prefix { $0.isASCII && $0.isNumber }
    guard !digits.isEmpty, digits.count <= 6, let v = Int(digits), v > 0 else { return nil }
    return v
  }

  /// `![alt](url)`, recording the image; nil for unusable sources and tracking pixels.
  func image(_ e: XMLNode) -> String? {
    guard let url = imageSource(e) else { return nil }
    let w = Renderer.dimension(e.attribute("width"))
    let h = Renderer.dimension(e.attribute("height"))
    if let w, let h, w <= 2, h <= 2 { return nil }
    if !seenImages.contains(url) {
      seenImages.insert(url)
      images.append(Article.Image(url: url, width: w, height: h))
    }
    var alt = InlineBuffer()
    alt.text(HTMLText.foldWhitespace(e.attribute("alt") ?? ""))
    return "![" + alt.s + "](" + Renderer.destination(url) + ")"
  }

  /// Lazy-loading pages put the real `<img>` in `<noscript>` beside a placeholder: such
  /// an image is shown unless the placeholder already gave the same URL. Nothing else of
  /// a `noscript` is kept.
  func noscriptImages(_ e: XMLNode, _ ctx: inout BlockContext) {
    e.walkElements { c in
      if c.name == "img", !Renderer.isHidden(c), let url = imageSource(c),
        !seenImages.contains(url), let md = image(c)
      {
        ctx.inline.raw(md)
      }
      return true
    }
  }

  // MARK: - Code

  /// Text of an element with `<br>` as a newline, white space untouched.
  static func rawText(_ e: XMLNode) -> String {
    var out = ""
    func go(_ n: XMLNode, _ depth: Int) {
      guard depth < Renderer.maxDepth else { return }
      for c in n.children {
        switch c.kind {
        case .text, .cdata: out += c.content
        case .entityReference: out += c.text
        case .element:
          if c.name == "br" {
            out += "\n"
          } else if !MarkdownConverter.droppedElements.contains(c.name) {
            go(c, depth + 1)
          }
        default: break
        }
      }
    }
    go(e, 0)
    return out
  }

  static func longestRun(of ch: Character, in s: String) -> Int {
    var best = 0
    var run = 0
    for c in s {
      if c == ch {
        run += 1
        best = max(best, run)
      } else {
        run = 0
      }
    }
    return best
  }

  static func codeSpan(_ text: String) -> String {
    var t = HTMLText.foldWhitespace(text)
    if t.isEmpty { return "" }
    let fence = String(repeating: "`", count: longestRun(of: "`", in: t) + 1)
    if t.first == "`" || t.last == "`" || (t.first == " " && t.last == " ") { t = " " + t + " " }
    return fence + t + fence
  }

  func codeBlock(_ e: XMLNode) -> String {
    var text = Renderer.rawText(e)
    if text.utf8.contains(0x0D) {
      text = text.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(
        of: "\r", with: "\n")
    }
    // Controls out (only when there may be one: C0, DEL, or a C2 lead byte).
    if text.utf8.contains(where: {
      ($0 < 0x20 && $0 != 0x0A && $0 != 0x09) || $0 == 0x7F || $0 == 0xC2
    }) {
      text = String(
        text.unicodeScalars.filter {
          $0 == "\n" || $0 == "\t" || !($0.value < 0x20 || (0x7F...0x9F).contains($0.value))
        }.map(Character.init))
    }
    if text.hasPrefix("\n") { text.removeFirst() }
    var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map {
      line -> Substring in
      var l = line
      while let last = l.last, last == " " || last == "\t" { l.removeLast() }
      return l
    }
    while lines.last?.isEmpty == true { lines.removeLast() }
    while lines.first?.isEmpty == true { lines.removeFirst() }
    if lines.isEmpty { return "" }
    let body = lines.joined(separator: "\n")
    let fence = String(repeating: "`", count: max(3, Renderer.longestRun(of: "`", in: body) + 1))
    return fence + Renderer.language(e) + "\n" + body + "\n" + fence
  }

  static func language(_ e: XMLNode) -> String {
    var classes = e.attribute("class") ?? ""
    if let code = e.firstElement("code"), let c = code.attribute("class") { classes += " " + c }
    for cls in classes.split(separator: " ") {
      for prefix in ["language-", "lang-"] where cls.hasPrefix(prefix) {
        let lang = cls.dropFirst(prefix.count).filter {
          $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == "+")
        }
        if !lang.isEmpty { return String(lang.prefix(32)) }
      }
    }
    return ""
  }

  // MARK: - Lists and quotes

  static func prefixLines(_ text: String, first: String, rest: String) -> String {
    if text.isEmpty { return "" }
    var out = ""
    for (k, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
      if k > 0 { out += "\n" }
      let p = k == 0 ? first : rest
      out += line.isEmpty ? String(p.drop(while: { $0 != ">" }).prefix(1)) : p + line
    }
    return out
  }

  /// Does this rendered block start with a list marker (`- ` or `12. `)?
  static func isListBlock(_ b: String) -> Bool {
    if b.hasPrefix("- ") { return true }
    let digits = b.prefix { $0.isASCII && $0.isNumber }
    return !digits.isEmpty && b.dropFirst(digits.count).hasPrefix(". ")
  }

  /// Also the switched markers (`* `, `1) `): for nesting inside a list item.
  static func isAnyListBlock(_ b: String) -> Bool {
    if isListBlock(b) || (b.hasPrefix("* ") && !b.hasPrefix("* * *")) { return true }
    let digits = b.prefix { $0.isASCII && $0.isNumber }
    return !digits.isEmpty && b.dropFirst(digits.count).hasPrefix(") ")
  }

  func list(_ e: XMLNode, ordered: Bool, depth: Int) -> String {
    nesting += 1
    defer { nesting -= 1 }
    // CommonMark list numbers have at most 9 digits and are not negative.
    let start = Int(Renderer.trimmed(e.attribute("start") ?? "")) ?? 1
    var number = ordered ? min(max(start, 0), 999_999_000) : 0
    var items: [[String]] = []
    for child in e.children {
      switch child.kind {
      case .element:
        let name = child.name
        if MarkdownConverter.droppedElements.contains(name) || Renderer.isHidden(child) {
          continue
        }
        if name == "li" {
          items.append(blocks(child, depth: depth + 1))
        } else if (name == "ul" || name == "ol") && !items.isEmpty {
          // A list nested directly in a list belongs to the item before it.
          if nesting >= Renderer.maxNesting {
            items[items.count - 1] += blocks(child, depth: depth + 1)
          } else {
            items[items.count - 1].append(list(child, ordered: name == "ol", depth: depth + 1))
          }
        } else {
          var ctx = BlockContext()
          element(child, &ctx, depth: depth + 1)
          ctx.flush()
          if !ctx.blocks.isEmpty { items.append(ctx.blocks) }
        }
      case .text, .cdata:
        if !HTMLText.foldWhitespace(child.content).isEmpty {
          var ctx = BlockContext()
          ctx.inline.text(child.content)
          ctx.flush()
          items.append(ctx.blocks)
        }
      default:
        break
      }
    }
    var rendered: [String] = []
    var loose = false
    for blocks in items where !blocks.isEmpty {
      let marker = ordered ? "\(number)." : "-"
      number += 1
      // Tight unless an item has more than one block that is not a nested list.
      var text = blocks[0]
      for b in blocks.dropFirst() {
        let nested = Renderer.isAnyListBlock(b)
        if !nested { loose = true }
        text += (nested ? "\n" : "\n\n") + b
      }
      let indent = String(repeating: " ", count: marker.count + 1)
      var out = ""
      for (k, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
        if k > 0 { out += "\n" }
        if k == 0 {
          out += marker + " " + line
        } else if !line.isEmpty {
          out += indent + line
        }
      }
      rendered.append(out)
    }
    return rendered.joined(separator: loose ? "\n\n" : "\n")
  }

  // MARK: - Tables

  func rows(_ table: XMLNode) -> [XMLNode] {
    var out: [XMLNode] = []
    for c in table.elements {
      switch c.name {
      case "tr": out.append(c)
      case "thead", "tbody", "tfoot": out.append(contentsOf: c.elements.filter { $0.name == "tr" })
      default: break
      }
    }
    return out
  }

  static let complexInCell: Set<String> = [
    "ul", "ol", "table", "pre", "blockquote", "h1", "h2", "h3", "h4", "h5", "h6", "dl",
    "figure", "hr",
  ]

  func isSimple(_ rows: [[XMLNode]]) -> Bool {
    guard let width = rows.map(\.count).max(), width >= 2 else { return false }
    for row in rows {
      for cell in row {
        if let cs = cell.attribute("colspan"), (Int(cs) ?? 1) > 1 { return false }
        if let rs = cell.attribute("rowspan"), (Int(rs) ?? 1) > 1 { return false }
        var complex = false
        cell.walkElements { c in
          if Renderer.complexInCell.contains(c.name) { complex = true }
          return !complex
        }
        if complex { return false }
      }
    }
    return true
  }

  /// Text is escaped already; a `|` left bare (inside a code span) would end the cell.
  static func escapePipes(_ s: String) -> String {
    var out = ""
    var previous: Character = " "
    for c in s {
      if c == "|" && previous != "\\" { out += "\\" }
      out.append(c)
      previous = c
    }
    return out
  }

  /// Rows times the widest row's cells of a table written as a Markdown table; a larger
  /// one is written as its cells' blocks.
  static let maxTableCells = 50_000

  func table(_ t: XMLNode, _ ctx: inout BlockContext, depth: Int) {
    let trs = rows(t)
    let cells = trs.map { $0.elements.filter { $0.name == "td" || $0.name == "th" } }
      .filter { !$0.isEmpty }
    if let caption = t.firstElement("caption") {
      element(caption, &ctx, depth: depth + 1)
    }
    // A table is padded to its widest row: one row of 8,000 cells over 8,000 rows of one
    // (232 KB of HTML) made a 256 MB article and took 1.6 GB.
    let width = cells.map(\.count).max() ?? 0
    guard isSimple(cells), width * cells.count <= Self.maxTableCells else {
      // Layout or complex table: its cells as blocks, in order.
      ctx.flush()
      for row in cells {
        for cell in row {
          walk(cell, &ctx, depth: depth + 1)
          ctx.flush()
        }
      }
      return
    }
    var text: [[String]] = cells.map { row in
      row.map { Renderer.escapePipes(inlineLine($0, depth: depth + 1)) }
    }
    if text.allSatisfy({ $0.allSatisfy(\.isEmpty) }) { return }
    for k in text.indices {
      while text[k].count < width { text[k].append("") }
    }
    func line(_ r: [String]) -> String {
      "| " + r.map { $0.isEmpty ? " " : $0 }.joined(separator: " | ") + " |"
    }
    var out = [line(text[0]), "|" + String(repeating: " --- |", count: width)]
    for r in text.dropFirst() { out.append(line(r)) }
    ctx.add(out.joined(separator: "\n"))
  }
}
