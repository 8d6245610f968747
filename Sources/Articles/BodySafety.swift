/// The last guard before a body reaches the spool: whatever built it, the text that is
/// written contains no control characters and nothing a browser or a Markdown renderer
/// could run.
///
/// - NUL, C0 controls other than TAB and LF, DEL, C1 controls and the BOM are removed;
///   CR LF and lone CR become LF (terminal escape sequences cannot survive).
/// - Active markup is broken with an invisible U+200B ZERO WIDTH SPACE, which keeps the
///   visible text but makes it inert everywhere, in code blocks too:
///   - after `<` when what follows (after optional white space) names an active element
///     (`script`, `iframe`, `object`, `embed`, `base`, `frame`, `frameset`, `applet`,
///     `meta`, `link`, `style`, `form`, `svg`, `math`): `<\u{200B}script` is no tag;
///   - before the `:` of `javascript:` and `vbscript:` (white space allowed before the
///     colon) and of `data:` followed by `text/html`: no longer a URL scheme;
///   - before `on…=` attribute-like text that follows white space (`onerror=`): no
///     longer an event handler attribute.
///
/// The Markdown converter already writes `<` in text as `&lt;` and drops unsafe links,
/// so in practice this only acts inside code, and on bodies that did not come from it.
public enum BodySafety {
  static let zwsp: Unicode.Scalar = "\u{200B}"
  static let activeElements: [[UInt8]] = [
    "script", "iframe", "object", "embed", "base", "frameset", "frame", "applet", "meta",
    "link", "style", "form", "svg", "math",
  ].map { Array($0.utf8) }

  /// The body with controls removed and active markup neutralized. Idempotent.
  public static func sanitize(_ text: String) -> String {
    let src = Array(text.unicodeScalars)
    var out = String.UnicodeScalarView()
    var i = 0
    let n = src.count
    while i < n {
      let c = src[i]
      let v = c.value
      switch v {
      case 0x0A, 0x09:
        out.append(c)
      case 0x0D:
        out.append("\n")
        if i + 1 < n && src[i + 1].value == 0x0A { i += 1 }
      case 0x00...0x1F, 0x7F...0x9F, 0xFEFF:
        break
      case 0x3C:  // "<"
        out.append(c)
        var j = i + 1
        while j < n && isSpace(src[j]) { j += 1 }
        if activeElements.contains(where: { matches(src, at: j, $0) }) { out.append(zwsp) }
      case 0x3A:  // ":"
        if isSchemeColon(src, at: i) { out.append(zwsp) }
        out.append(c)
      case 0x6F, 0x4F:  // "o"
        if i > 0 && isSpace(src[i - 1]) && isHandler(src, at: i) { out.append(zwsp) }
        out.append(c)
      default:
        out.append(c)
      }
      i += 1
    }
    return String(out)
  }

  /// White space as Python's `str.isspace` (what the spool checker's `\s` matches).
  static func isSpace(_ c: Unicode.Scalar) -> Bool {
    let v = c.value
    if v == 0x20 || (v >= 0x09 && v <= 0x0D) || (v >= 0x1C && v <= 0x1F) { return true }
    return v >= 0x80 && c.properties.isWhitespace
  }

  static func lower(_ c: Unicode.Scalar) -> UInt32 {
    c.value >= 0x41 && c.value <= 0x5A ? c.value | 0x20 : c.value
  }

  static func matches(_ s: [Unicode.Scalar], at i: Int, _ word: [UInt8]) -> Bool {
    guard i + word.count <= s.count else { return false }
    for k in 0..<word.count where lower(s[i + k]) != UInt32(word[k]) { return false }
    return true
  }

  /// Is the colon at `i` the end of `javascript`, `vbscript` or a `data:` + `text/html`?
  static func isSchemeColon(_ s: [Unicode.Scalar], at i: Int) -> Bool {
    var j = i - 1
    while j >= 0 && isSpace(s[j]) { j -= 1 }
    if j >= 5 && matches(s, at: j - 5, Array("script".utf8)) { return true }
    if j >= 3 && matches(s, at: j - 3, Array("data".utf8)) {
      var k = i + 1
      while k < s.count && isSpace(s[k]) { k += 1 }
      return matches(s, at: k, Array("text/html".utf8))
    }
    return false
  }

  /// `on` + ASCII letters + optional white space + `=` at `i`?
  static func isHandler(_ s: [Unicode.Scalar], at i: Int) -> Bool {
    guard i + 2 < s.count, lower(s[i + 1]) == 0x6E else { return false }
    var j = i + 2
    let start = j
    while j < s.count, lower(s[j]) >= 0x61 && lower(s[j]) <= 0x7A { j += 1 }
    guard j > start else { return false }
    while j < s.count && isSpace(s[j]) { j += 1 }
    return j < s.count && s[j] == "="
  }
}
