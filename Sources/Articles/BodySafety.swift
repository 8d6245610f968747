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
/// Words are matched as a case-insensitive Unicode search matches them (`ſ` for `s`, `İ`
/// and `ı` for `i`, the Kelvin sign for `k`), since that is how checkers look.
///
/// The Markdown converter already writes `<` in text as `&lt;` and drops unsafe links,
/// so in practice this only acts inside code, and on bodies that did not come from it.
public enum BodySafety {
  static let zwsp: [UInt8] = [0xE2, 0x80, 0x8B]  // U+200B in UTF-8
  static let activeElements: [[UInt8]] = [
    "script", "iframe", "object", "embed", "base", "frameset", "frame", "applet", "meta",
    "link", "style", "form", "svg", "math",
  ].map { Array($0.utf8) }

  /// The body with controls removed and active markup neutralized. Idempotent. Works on
  /// the UTF-8 bytes in two linear passes (controls out, then markup broken, so that a
  /// removed control cannot join the pieces of a pattern), in place: a body that needs
  /// neither (nearly all, and every body sanitized before) is returned without a copy.
  public static func sanitize(_ text: String) -> String {
    var text = text
    let changed: [UInt8]? = text.withUTF8 { u in
      if let clean = removeControls(u) {
        return clean.withUnsafeBufferPointer { c in marked(c) ?? clean }
      }
      return marked(u)
    }
    guard let changed else { return text }
    return String(decoding: changed, as: UTF8.self)
  }

  /// The bytes with active markup broken, or nil when there is none.
  static func marked(_ clean: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
    var out: [UInt8] = []  // written only once a mark is needed
    var marked = false
    let n = clean.count
    var run = 0  // start of the bytes not yet copied to `out`
    func mark(at k: Int) {
      if !marked {
        out.reserveCapacity(n + 16)
        marked = true
      }
      out.append(contentsOf: UnsafeBufferPointer(rebasing: clean[run..<k]))
      out.append(contentsOf: zwsp)
      run = k
    }
    var i = 0
    while i < n {
      switch clean[i] {
      case 0x3C:  // "<": the mark goes after it
        var j = i + 1
        while j < n, let w = spaceLength(clean, at: j) { j += w }
        if activeElements.contains(where: { matches(clean, at: j, $0) }) { mark(at: i + 1) }
      case 0x3A:  // ":": the mark goes before it
        if isSchemeColon(clean, at: i) { mark(at: i) }
      case 0x6F, 0x4F:  // "o" of "on...=" after white space: the mark goes before it
        // Most "on" are inside words ("tion"): an ASCII byte before that is not white
        // space cannot end a white space character, so no closer look is needed.
        if i + 1 < n && lower(clean[i + 1]) == 0x6E && i > 0
          && (clean[i - 1] >= 0x80 || spaceLength(clean, at: i - 1) != nil)
          && spaceLength(before: clean, end: i) != nil && isHandler(clean, at: i)
        {
          mark(at: i)
        }
      default:
        break
      }
      i += 1
    }
    if !marked { return nil }
    out.append(contentsOf: UnsafeBufferPointer(rebasing: clean[run..<n]))
    return out
  }

  /// NUL, C0 except TAB and LF, DEL, C1 (`C2 80`...`C2 9F`) and the BOM out; CR LF and CR
  /// to LF. nil when there is nothing to remove or change.
  static func removeControls(_ s: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
    // Nearly every body has none of them: no copy then.
    var first = 0
    while first < s.count {
      let b = s[first]
      if (b < 0x20 && b != 0x0A && b != 0x09) || b == 0x7F { break }
      if b == 0xC2 && first + 1 < s.count && s[first + 1] >= 0x80 && s[first + 1] <= 0x9F {
        break
      }
      if b == 0xEF && first + 2 < s.count && s[first + 1] == 0xBB && s[first + 2] == 0xBF {
        break
      }
      first += 1
    }
    if first == s.count { return nil }
    var out: [UInt8] = []
    out.reserveCapacity(s.count)
    out.append(contentsOf: UnsafeBufferPointer(rebasing: s[0..<first]))
    let n = s.count
    var i = first
    while i < n {
      let b = s[i]
      if b >= 0x20 && b < 0x7F {
        out.append(b)
      } else if b == 0x0A || b == 0x09 {
        out.append(b)
      } else if b == 0x0D {
        out.append(0x0A)
        if i + 1 < n && s[i + 1] == 0x0A { i += 1 }
      } else if b < 0x20 || b == 0x7F {
        // dropped
      } else if b == 0xC2 && i + 1 < n && s[i + 1] >= 0x80 && s[i + 1] <= 0x9F {
        i += 1
      } else if b == 0xEF && i + 2 < n && s[i + 1] == 0xBB && s[i + 2] == 0xBF {
        i += 2
      } else {
        out.append(b)
      }
      i += 1
    }
    return out
  }

  /// Byte length of the white space character (Python's `str.isspace`) at `i`, or nil.
  static func spaceLength(_ s: UnsafeBufferPointer<UInt8>, at i: Int) -> Int? {
    let b = s[i]
    if b == 0x20 || (b >= 0x09 && b <= 0x0D) || (b >= 0x1C && b <= 0x1F) { return 1 }
    if b == 0xC2, i + 1 < s.count, s[i + 1] == 0x85 || s[i + 1] == 0xA0 { return 2 }
    guard i + 2 < s.count else { return nil }
    let c1 = s[i + 1]
    let c2 = s[i + 2]
    switch b {
    case 0xE1 where c1 == 0x9A && c2 == 0x80: return 3  // U+1680
    case 0xE2 where c1 == 0x80 && (c2 <= 0x8A || c2 == 0xA8 || c2 == 0xA9 || c2 == 0xAF):
      return 3  // U+2000-200A, U+2028, U+2029, U+202F
    case 0xE2 where c1 == 0x81 && c2 == 0x9F: return 3  // U+205F
    case 0xE3 where c1 == 0x80 && c2 == 0x80: return 3  // U+3000
    default: return nil
    }
  }

  /// Byte length of the white space character ending just before `end`, or nil.
  static func spaceLength(before s: UnsafeBufferPointer<UInt8>, end: Int) -> Int? {
    var len = 1
    while len <= 3 && end - len >= 0 {
      if let l = spaceLength(s, at: end - len), l == len { return len }
      len += 1
    }
    return nil
  }

  @inline(__always) static func lower(_ b: UInt8) -> UInt8 { b >= 0x41 && b <= 0x5A ? b | 0x20 : b }

  /// Does `word` (lower-case ASCII) start at `i`? Letters match as a case-insensitive
  /// Unicode search for the word does (Python's `re.I`, which the spool checker uses):
  /// `s` also matches `ſ` (U+017F), `i` also `İ` and `ı` (U+0130, U+0131), `k` also the
  /// Kelvin sign (U+212A).
  static func matches(_ s: UnsafeBufferPointer<UInt8>, at i: Int, _ word: [UInt8]) -> Bool {
    guard i >= 0 else { return false }
    var j = i
    for w in word {
      guard let l = letterLength(s, at: j, w) else { return false }
      j += l
    }
    return true
  }

  /// Does `word` end just before `end` (as `matches` reads letters)?
  static func matches(_ s: UnsafeBufferPointer<UInt8>, endingAt end: Int, _ word: [UInt8]) -> Bool {
    var j = end
    for w in word.reversed() {
      guard
        let l = (1...3).first(where: { j - $0 >= 0 && letterLength(s, at: j - $0, w) == $0 })
      else { return false }
      j -= l
    }
    return true
  }

  /// Byte length of the character at `i` when it is the letter `w` (lower-case ASCII) in
  /// either case, or one of the non-ASCII letters a case-insensitive search takes for it.
  @inline(__always)
  static func letterLength(_ s: UnsafeBufferPointer<UInt8>, at i: Int, _ w: UInt8) -> Int? {
    guard i < s.count else { return nil }
    let b = s[i]
    if lower(b) == w { return 1 }
    guard b >= 0xC4, i + 1 < s.count else { return nil }
    switch w {
    case 0x73 where b == 0xC5 && s[i + 1] == 0xBF: return 2  // ſ
    case 0x69 where b == 0xC4 && (s[i + 1] == 0xB0 || s[i + 1] == 0xB1): return 2  // İ ı
    case 0x6B where b == 0xE2 && i + 2 < s.count && s[i + 1] == 0x84 && s[i + 2] == 0xAA:
      return 3  // K
    default: return nil
    }
  }

  /// Byte length of the letter at `i` that `[a-z]` matches case-insensitively (ASCII,
  /// and `ſ`, `İ`, `ı`, `K`), or nil.
  static func anyLetterLength(_ s: UnsafeBufferPointer<UInt8>, at i: Int) -> Int? {
    let b = lower(s[i])
    if b >= 0x61 && b <= 0x7A { return 1 }
    return letterLength(s, at: i, 0x73) ?? letterLength(s, at: i, 0x69)
      ?? letterLength(s, at: i, 0x6B)
  }

  static let script = Array("script".utf8)
  static let data = Array("data".utf8)
  static let textHTML = Array("text/html".utf8)

  /// Is the colon at `i` the end of `javascript`, `vbscript` or a `data:` + `text/html`?
  static func isSchemeColon(_ s: UnsafeBufferPointer<UInt8>, at i: Int) -> Bool {
    var j = i
    while j > 0, let w = spaceLength(before: s, end: j) { j -= w }
    if matches(s, endingAt: j, script) { return true }
    if matches(s, endingAt: j, data) {
      var k = i + 1
      while k < s.count, let w = spaceLength(s, at: k) { k += w }
      return matches(s, at: k, textHTML)
    }
    return false
  }

  /// `on` + ASCII letters + optional white space + `=` at `i`?
  static func isHandler(_ s: UnsafeBufferPointer<UInt8>, at i: Int) -> Bool {
    guard i + 2 < s.count, lower(s[i + 1]) == 0x6E else { return false }
    var j = i + 2
    let start = j
    while j < s.count, let l = anyLetterLength(s, at: j) { j += l }
    guard j > start else { return false }
    while j < s.count, let w = spaceLength(s, at: j) { j += w }
    return j < s.count && s[j] == 0x3D
  }
}
