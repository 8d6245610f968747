#if canImport(Glibc)
  import Glibc
#endif

extension LibXML {
  /// What `measure` finds in a document's markup.
  struct Markup: Equatable {
    /// Start tags, attributes, comments, instructions and entity references, in all.
    var nodes = 0
    /// The most nodes in one subtree the streaming reader expands (see `ReaderItems`).
    var largestItem = 0
    /// The most attributes on one start tag. Measuring stops at the first tag over
    /// `maxAttributes`.
    var mostAttributes = 0
    /// XML: the longest tag, comment, CDATA section, processing instruction or
    /// declaration, in bytes.
    var longestConstruct = 0
  }

  /// Nodes (elements, attributes, comments, instructions, entity references) in `bytes`
  /// (an ASCII-compatible encoding), read the way libxml2's parsers will read them and
  /// erring towards counting more. Start tags follow libxml2's grammar (see
  /// `MarkupScanner.startTag`). Comments are stepped over (HTML: to `-->` or `--!>`); in
  /// XML also CDATA sections and instructions (each up to a character XML does not
  /// allow, where libxml2 stops reading them); declarations are stepped over with their
  /// quoted literals, whose tags count. In HTML the content of `script` and `style` is
  /// raw text (none when `</` follows at once: libxml2 then reads an end tag) and CDATA
  /// sections are not (libxml2's HTML parser reads the tags in them); a stray `</p>` or
  /// `</br>` makes an element. Every search is remembered, so the whole pass stays linear.
  static func measure(_ bytes: [UInt8], html: Bool) -> Markup {
    bytes.withUnsafeBufferPointer { b -> Markup in
      guard b.baseAddress != nil else { return Markup() }
      var s = MarkupScanner(b, html: html)
      var m = Markup()
      var items = ReaderItems()
      func count(_ nodes: Int) {
        m.nodes += nodes
        items.add(nodes)
      }
      let n = b.count
      var i = 0
      scan: while let start = s.next(0x3C, from: i) {  // <
        i = start + 1
        guard i < n else { break }
        switch b[i] {
        case 0x2F:  // </
          items.close()
          if s.isStrayEnd(at: i + 1) { count(1) }
        case 0x21:  // <!
          if s.startsWith("--", at: i + 1, exactCase: true) {
            i = min(s.commentEnd(from: i + 3), s.bad(from: i + 3))
            count(1)
          } else if !html, s.startsWith("[cdata[", at: i + 1, exactCase: true) {
            i = min(s.after(2, "]]>", from: i + 8), s.bad(from: i + 8))
            count(1)
          } else {
            let declaration = s.declarationEnd(from: i + 1)
            i = declaration.end
            count(declaration.tags)
          }
          if !html { m.longestConstruct = max(m.longestConstruct, i - start) }
        case 0x3F where !html:  // <?target ... ?>
          guard i + 1 < n, s.isLetter(b[i + 1]) || b[i + 1] == 0x5F || b[i + 1] == 0x3A else {
            continue
          }
          i = min(s.after(3, "?>", from: i + 2), s.bad(from: i + 2))
          m.longestConstruct = max(m.longestConstruct, i - start)
          count(1)
        case let c where s.isNameStart(c):
          let tag = s.startTag(nameAt: i)
          i = tag.end
          if !html { m.longestConstruct = max(m.longestConstruct, i - start) }
          items.open(b[tag.localName], empty: tag.empty)
          m.mostAttributes = max(m.mostAttributes, tag.attributes)
          count(1 + tag.attributes)
          if tag.attributes > maxAttributes { break scan }
          if let text = s.rawTextEnd(after: tag) { i = text }
        default:
          continue
        }
      }
      m.largestItem = items.largest
      if !html { m.nodes += entityReferences(b) }
      return m
    }
  }

  /// XML: references to entities other than the five predefined ones, each a node in
  /// libxml2's tree (it does not substitute them).
  static func entityReferences(_ b: UnsafeBufferPointer<UInt8>) -> Int {
    guard let base = b.baseAddress else { return 0 }
    let n = b.count
    var refs = 0
    var i = 0
    while i < n, let p = memchr(base + i, 0x26, n - i) {
      i = base.distance(to: p.assumingMemoryBound(to: UInt8.self)) + 1
      guard i < n, b[i] != 0x23 else { continue }  // character references make text
      var j = i
      while j < n, j - i < 8, b[j] != 0x3B { j += 1 }
      let word = b[i..<min(j, n)]
      if j < n, b[j] == 0x3B,
        word.elementsEqual("amp".utf8) || word.elementsEqual("lt".utf8)
          || word.elementsEqual("gt".utf8) || word.elementsEqual("quot".utf8)
          || word.elementsEqual("apos".utf8)
      {
        continue
      }
      refs += 1
    }
    return refs
  }
}

/// The subtrees libxml2's streaming reader expands, as the feed parser walks it: each
/// child of the root (but an RSS `channel`, which it reads into) and each child of such
/// a `channel`. Their nodes are counted apart: the reader holds one at a time.
struct ReaderItems {
  /// The most nodes in one subtree so far.
  var largest: Int { max(closed, current) }
  private var closed = 0
  private var current = 0
  private var depth = 0  // open elements
  private var rootIsFeed = false  // Atom: a `channel` in it is expanded whole
  private var inChannel = false  // the open depth-1 element is an RSS `channel`

  mutating func add(_ nodes: Int) { current += nodes }

  /// A start tag whose local name is `local`; its nodes are added after.
  mutating func open(_ local: Slice<UnsafeBufferPointer<UInt8>>, empty: Bool) {
    if depth == 0 {
      rootIsFeed = local.elementsEqual("feed".utf8)
    } else if depth == 1 {
      inChannel = !rootIsFeed && local.elementsEqual("channel".utf8)
      if !inChannel { startSubtree() }
    } else if depth == 2 && inChannel {
      startSubtree()
    }
    if !empty { depth += 1 }
  }

  mutating func close() { depth = max(0, depth - 1) }

  private mutating func startSubtree() {
    closed = max(closed, current)
    current = 0
  }
}

/// Reads markup the way libxml2's parsers do, for `LibXML.measure`. Searches are
/// remembered by needle: the cursor only moves forward, so the first match at or after an
/// earlier start is still the first at or after a later one.
struct MarkupScanner {
  let b: UnsafeBufferPointer<UInt8>
  let base: UnsafePointer<UInt8>
  let n: Int
  let html: Bool
  private var found = (-1, -1, -1, -1)
  private var nextBad: Int

  init(_ b: UnsafeBufferPointer<UInt8>, html: Bool) {
    self.b = b
    base = b.baseAddress!
    n = b.count
    self.html = html
    nextBad = html ? b.count : -1
  }

  /// A parsed start tag.
  struct StartTag {
    /// Where the name starts, and its length (HTML: at most 100 bytes).
    var name: Int
    var nameLength: Int
    /// The name after its last ':'.
    var localName: Range<Int>
    var attributes = 0
    /// `/>`.
    var empty = false
    /// Ended by `>` or `/>` (XML: false when the tag broke off and what follows is content).
    var ended = false
    /// The offset of the tag's last byte read (its '>'), or where it broke off.
    var end: Int
  }

  @inline(__always) func lower(_ c: UInt8) -> UInt8 { c | 0x20 }
  @inline(__always) func isLetter(_ c: UInt8) -> Bool { lower(c) >= 0x61 && lower(c) <= 0x7A }
  @inline(__always) func isSpace(_ c: UInt8) -> Bool {
    c == 0x20 || c == 0x09 || c == 0x0A || c == 0x0D
  }
  @inline(__always) func isNameStart(_ c: UInt8) -> Bool {
    isLetter(c) || c == 0x5F || c == 0x3A || c == 0x2E || (!html && c >= 0x80)
  }
  @inline(__always) func isNameChar(_ d: UInt8) -> Bool {
    isLetter(d) || (d >= 0x30 && d <= 0x39) || d == 0x3A || d == 0x2D || d == 0x5F
      || d == 0x2E || (!html && d >= 0x80)
  }

  /// The offset of the next `byte` at or after `from` and before `end` (default: `n`), or
  /// nil.
  func next(_ byte: UInt8, from: Int, before end: Int? = nil) -> Int? {
    let end = end ?? n
    guard from < end, let p = memchr(base + from, Int32(byte), end - from) else { return nil }
    return base.distance(to: p.assumingMemoryBound(to: UInt8.self))
  }

  /// The offset after the first `needle` at or after `from` (`n` if none); `slot` names
  /// the needle's remembered search.
  mutating func after(_ slot: Int, _ needle: StaticString, from: Int) -> Int {
    let at = find(slot, needle, from: from)
    return at < n ? at + needle.utf8CodeUnitCount : n
  }

  private mutating func find(_ slot: Int, _ needle: StaticString, from: Int) -> Int {
    func search() -> Int { ByteSearch.find(needle, in: UnsafeRawBufferPointer(b), from: from) ?? n }
    switch slot {
    case 0:
      if found.0 < from { found.0 = search() }
      return found.0
    case 1:
      if found.1 < from { found.1 = search() }
      return found.1
    case 2:
      if found.2 < from { found.2 = search() }
      return found.2
    default:
      if found.3 < from { found.3 = search() }
      return found.3
    }
  }

  /// Where a comment whose text starts at `from` ends (HTML: `--!>` ends it too).
  mutating func commentEnd(from: Int) -> Int {
    let stop = after(0, "-->", from: from)
    return html ? min(stop, after(1, "--!>", from: from)) : stop
  }

  /// XML: where libxml2 stops reading a comment, CDATA section, instruction or attribute
  /// value: a C0 control but tab, LF and CR, or U+FFFE / U+FFFF (`n` if none; always `n`
  /// in HTML).
  mutating func bad(from: Int) -> Int {
    if nextBad >= from { return nextBad }
    var j = from
    while j < n {
      let c = b[j]
      if c < 0x20 && c != 0x09 && c != 0x0A && c != 0x0D { break }
      if c == 0xEF && j + 2 < n && b[j + 1] == 0xBF && (b[j + 2] == 0xBE || b[j + 2] == 0xBF) {
        break
      }
      j += 1
    }
    nextBad = j
    return j
  }

  /// Whether `b[at...]` starts with `word` (lower-case ASCII), in any case unless
  /// `exactCase` (then upper-case letters in `b`).
  func startsWith(_ word: StaticString, at: Int, exactCase: Bool = false) -> Bool {
    let w = UnsafeBufferPointer(start: word.utf8Start, count: word.utf8CodeUnitCount)
    guard at + w.count <= n else { return false }
    for k in 0..<w.count {
      let c = b[at + k]
      if exactCase ? (isLetter(w[k]) ? c != w[k] & ~0x20 : c != w[k]) : lower(c) != w[k] {
        return false
      }
    }
    return true
  }

  /// HTML: libxml2 makes an element for a stray `</p>` or `</br>` (`at`: after `</`).
  func isStrayEnd(at: Int) -> Bool {
    html && at < n && (lower(b[at]) == 0x70 || startsWith("br", at: at))
  }

  /// From after `<!` of a declaration (DOCTYPE, ENTITY, ...): where it stops, at '>' or
  /// an internal subset's '[', quoted literals stepped over (no comment opens in them);
  /// and the tags in those literals (an entity's replacement is parsed when used).
  func declarationEnd(from: Int) -> (end: Int, tags: Int) {
    var j = from
    var tags = 0
    var quote: UInt8 = 0
    while j < n {
      let d = b[j]
      if quote != 0 {
        if d == quote {
          quote = 0
        } else if d == 0x3C, j + 1 < n, isNameStart(b[j + 1]) {
          tags += 1
        }
      } else if d == 0x22 || d == 0x27 {
        quote = d
      } else if d == 0x3E || d == 0x5B {
        break
      }
      j += 1
    }
    return (j, tags)
  }

  /// The start tag whose name starts at `i`, read by libxml2's grammar: in HTML a name
  /// is ASCII and at most 100 bytes (the rest is read as more names), a quote opens a
  /// value only after `=`, a byte that starts no name is skipped to the next space; in
  /// XML any break in `name="value"` (a '<' or a character XML does not allow inside the
  /// value, a missing value or space) ends the tag, and what follows is content.
  mutating func startTag(nameAt start: Int) -> StartTag {
    var i = start
    var local = i
    while i < n, isNameChar(b[i]), !html || i - start < 100 {
      if b[i] == 0x3A { local = i + 1 }
      i += 1
    }
    var tag = StartTag(name: start, nameLength: i - start, localName: local..<i, end: i)
    while i < n {
      let d = b[i]
      if isSpace(d) {
        i += 1
        continue
      }
      if d == 0x3E {
        tag.ended = true
        break
      }
      if d == 0x2F && i + 1 < n && b[i + 1] == 0x3E {
        tag.empty = true
        tag.ended = true
        i += 1
        break
      }
      guard isNameStart(d) else {
        if !html { break }  // XML: not an attribute; the tag ends here
        // HTML: libxml2 skips to the next space or the tag's end.
        i += 1
        while i < n, !isSpace(b[i]), b[i] != 0x3E, !(b[i] == 0x2F && i + 1 < n && b[i + 1] == 0x3E)
        {
          i += 1
        }
        continue
      }
      let attribute = i
      while i < n, isNameChar(b[i]), !html || i - attribute < 100 { i += 1 }
      tag.attributes += 1
      var j = i
      while j < n, isSpace(b[j]) { j += 1 }
      guard j < n, b[j] == 0x3D else {
        if html { continue }  // HTML: no value
        break  // XML: a value is required
      }
      j += 1
      while j < n, isSpace(b[j]) { j += 1 }
      guard j < n, b[j] == 0x22 || b[j] == 0x27 else {
        i = j
        if !html { break }  // XML: values are quoted
        while i < n, !isSpace(b[i]), b[i] != 0x3E { i += 1 }
        continue
      }
      let close = next(b[j], from: j + 1) ?? n
      if html {
        i = min(close + 1, n)
        continue
      }
      // XML: a '<' or a character XML does not allow ends the value and the tag.
      let cut = min(bad(from: j + 1), next(0x3C, from: j + 1, before: close) ?? n)
      if cut < close {
        i = cut
        break
      }
      i = min(close + 1, n)
      // XML: the next attribute needs a space before it.
      if i < n, !isSpace(b[i]), b[i] != 0x3E, b[i] != 0x2F { break }
    }
    tag.end = i
    return tag
  }

  /// HTML: where the raw text of a `<script>` or `<style>` element ends (at its `</`),
  /// or nil for any other tag, an empty or broken tag, and when `</` follows at once
  /// (libxml2 then reads an end tag).
  func rawTextEnd(after tag: StartTag) -> Int? {
    let i = tag.end
    guard html, tag.ended, !tag.empty, i + 1 < n, !startsWith("</", at: i + 1, exactCase: true)
    else { return nil }
    if tag.nameLength == 6 && startsWith("script", at: tag.name) {
      return endTag("script", from: i + 1)
    }
    if tag.nameLength == 5 && startsWith("style", at: tag.name) {
      return endTag("style", from: i + 1)
    }
    return nil
  }

  /// The offset of `</word` (any case) from `from`, or `n`.
  private func endTag(_ word: StaticString, from: Int) -> Int {
    var j = from
    while let lt = next(0x3C, from: j) {
      j = lt + 1
      if j < n, b[j] == 0x2F, startsWith(word, at: j + 1) { return j }
    }
    return n
  }
}
