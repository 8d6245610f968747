import CLibXML2
import Synchronization

#if canImport(Glibc)
  import Glibc
#endif

/// A parsed XML or HTML document. Owns the libxml2 tree and frees it in `deinit`.
///
/// Parsing is safe for hostile input: the network is off (NONET), external entities,
/// DTDs and XInclude are never loaded (no NOENT, DTDLOAD, HUGE or XINCLUDE, and an
/// external entity loader that refuses everything), and libxml2's default limits on
/// depth and text size stay in force.
public final class XMLDocument: @unchecked Sendable {
  // @unchecked: the tree is immutable after parsing and only read through XMLNode;
  // a document is never shared between threads while being parsed.
  let doc: xmlDocPtr

  /// False when the parser met an error and recovered (feedparser's "bozo").
  public let wellFormed: Bool
  /// The first error message, for logs and `bozo_exception`-like reporting.
  public let firstError: String?
  /// False when a namespace prefix was used without being declared (and the like).
  public let namespaceWellFormed: Bool

  /// False for the view of a stream reader's document (the reader frees it).
  let owned: Bool

  init(
    doc: xmlDocPtr, wellFormed: Bool, firstError: String?, namespaceWellFormed: Bool = true,
    owned: Bool = true
  ) {
    self.doc = doc
    self.wellFormed = wellFormed
    self.firstError = firstError
    self.namespaceWellFormed = namespaceWellFormed
    self.owned = owned
  }

  deinit { if owned { xmlFreeDoc(doc) } }

  /// Bytes of entity replacement text `XMLNode.text` may still produce for this whole
  /// document: a few entities referenced many times cannot blow up memory.
  private let entityBytesLeft = Mutex(64 << 20)

  func spendEntityBudget(_ n: Int) {
    entityBytesLeft.withLock { $0 -= n }
  }

  /// Whether entity expansion is still allowed.
  var entityBudgetLeft: Bool { entityBytesLeft.withLock { $0 > 0 } }

  /// The root element, if any.
  public var root: XMLNode? {
    guard let r = xmlDocGetRootElement(doc) else { return nil }
    return XMLNode(r, self)
  }

  /// Parses an XML document. `url` becomes the document's base URI; `encoding`
  /// (an IANA name) overrides what the document declares.
  public static func parseXML(
    _ bytes: [UInt8], url: String? = nil, encoding: String? = nil
  ) throws(XMLError) -> XMLDocument {
    LibXML.setUp()
    let input = LibXML.decode(bytes, encoding: encoding, xml: true)
    try LibXML.refuseOversized(input.bytes)
    guard let ctxt = xmlNewParserCtxt() else { throw XMLError.outOfMemory }
    defer { xmlFreeParserCtxt(ctxt) }
    // A given encoding wins over the declaration (IGNORE_ENC, as in the streaming
    // reader): without it an encoding libxml2 does not know, declared by the document
    // (`'UTD-8'`), stopped the parse even though the bytes were already UTF-8.
    let options = Int32(
      XML_PARSE_RECOVER.rawValue | XML_PARSE_NONET.rawValue | XML_PARSE_NOERROR.rawValue
        | XML_PARSE_NOWARNING.rawValue | XML_PARSE_NOCDATA.rawValue
        | (input.encoding != nil ? XML_PARSE_IGNORE_ENC.rawValue : 0))
    let doc: xmlDocPtr? = input.bytes.withUnsafeBufferPointer { buf in
      buf.baseAddress!.withMemoryRebound(to: CChar.self, capacity: max(buf.count, 1)) { p in
        xmlCtxtReadMemory(ctxt, p, Int32(clamping: buf.count), url, input.encoding, options)
      }
    }
    let message = LibXML.lastError(ctxt) ?? (input.clean ? nil : LibXML.conversionError)
    guard let doc else { throw XMLError.unparseable(message ?? "no document") }
    return XMLDocument(
      doc: doc, wellFormed: ctxt.pointee.wellFormed != 0 && input.clean, firstError: message,
      namespaceWellFormed: ctxt.pointee.nsWellFormed != 0)
  }

  /// Parses an HTML document with libxml2's error-recovering HTML parser.
  public static func parseHTML(
    _ bytes: [UInt8], url: String? = nil, encoding: String? = nil
  ) throws(XMLError) -> XMLDocument {
    LibXML.setUp()
    let input = LibXML.decode(bytes, encoding: encoding)
    try LibXML.refuseOversized(input.bytes, html: true)
    guard let ctxt = htmlNewParserCtxt() else { throw XMLError.outOfMemory }
    defer { htmlFreeParserCtxt(ctxt) }
    // With no encoding, a <meta> charset must not switch the parser to one the measure
    // above did not read (a given encoding already wins over <meta>).
    let options = Int32(
      HTML_PARSE_RECOVER.rawValue | HTML_PARSE_NONET.rawValue | HTML_PARSE_NOERROR.rawValue
        | HTML_PARSE_NOWARNING.rawValue | HTML_PARSE_IGNORE_ENC.rawValue)
    let doc: htmlDocPtr? = input.bytes.withUnsafeBufferPointer { buf in
      buf.baseAddress!.withMemoryRebound(to: CChar.self, capacity: max(buf.count, 1)) { p in
        htmlCtxtReadMemory(ctxt, p, Int32(clamping: buf.count), url, input.encoding, options)
      }
    }
    guard let doc else { throw XMLError.unparseable(LibXML.lastError(ctxt) ?? "no document") }
    return XMLDocument(doc: doc, wellFormed: true, firstError: nil)
  }

  /// The document's base URL (what was passed as `url`).
  public var url: String? {
    guard let u = doc.pointee.URL else { return nil }
    return String(cString: u)
  }

  /// The encoding the parser used (declared or given), if known.
  public var encoding: String? {
    guard let e = doc.pointee.encoding else { return nil }
    return String(cString: e)
  }

  var isHTML: Bool { doc.pointee.type == XML_HTML_DOCUMENT_NODE }
}

extension XMLDocument {
  /// Resolves `reference` against `base` (RFC 3986, libxml2's resolver). Returns
  /// `reference` unchanged when either cannot be parsed.
  public static func resolveURI(_ reference: String, base: String) -> String {
    guard let r = xmlBuildURI(reference, base) else { return reference }
    defer { fs_xml_free(r) }
    return String(cString: r)
  }

  /// Whether libxml2 can decode documents in this encoding (an IANA name).
  public static func supportsEncoding(_ name: String) -> Bool {
    LibXML.setUp()
    guard let h = xmlFindCharEncodingHandler(name) else { return false }
    xmlCharEncCloseFunc(h)
    return true
  }
}

public enum XMLError: Error, Sendable, Equatable {
  case outOfMemory
  case unparseable(String)
}

extension LibXML {
  static let conversionError =
    "input conversion failed: bytes the encoding cannot convert were replaced with U+FFFD"
}

extension XMLError {
  static let tooManyAttributes = XMLError.unparseable(
    "an element with more than \(LibXML.maxAttributes) attributes (libxml2 checks them for duplicates in quadratic time)"
  )
  static let longConstruct = XMLError.unparseable(
    "a tag, comment, CDATA section, instruction or declaration over \(LibXML.longConstruct) bytes (libxml2's streaming reader is quadratic in its length)"
  )
  static let tooManyElements = XMLError.unparseable(
    "more than \(LibXML.maxNodesPerItem) elements and attributes in one item or \(LibXML.maxNodes) in the document (each costs about 400 bytes parsed)"
  )
}

enum LibXML {
  /// Attributes allowed on one element. libxml2 2.9 compares each attribute of an element
  /// with every earlier one: 60,000 attributes (0.6 MB) took 52 s, 1.2 million (10 MB)
  /// hours. Real elements carry a few dozen.
  static let maxAttributes = 1000

  /// Nodes (elements and attributes) a document parsed whole may hold, and one RSS item
  /// or Atom entry read by the streaming reader (which holds one item's tree at a time).
  /// libxml2 and the page tree built from it take about 400 bytes an element with its
  /// text: 740,000 small elements took 304 MB, and an attribute costs about as much.
  static let maxNodes = 400_000
  static let maxNodesPerItem = 250_000

  /// What `measure` finds in a document's markup.
  struct Markup: Equatable {
    /// Start tags, attributes, comments, instructions and entity references, in all.
    var nodes = 0
    /// The most nodes between two `item` or `entry` start tags (any prefix).
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
  /// erring towards counting more. Start tags follow libxml2's grammar: in HTML a name is
  /// ASCII and at most 100 bytes (the rest is read as more names), a quote opens a value
  /// only after `=`, a byte that starts no name is skipped to the next space; in XML any
  /// break in `name="value"` (a '<' or a character XML does not allow inside the value)
  /// ends the tag, and what follows is content. Comments are stepped over (HTML: to
  /// `-->` or `--!>`); in XML also CDATA sections and instructions (each up to a
  /// character XML does not allow, where libxml2 stops reading them); declarations are
  /// stepped over with their quoted literals, whose tags count. In HTML the content of
  /// `script` and `style` is raw text (none when `</` follows at once: libxml2 then
  /// reads an end tag) and CDATA sections are not (libxml2's HTML parser reads the tags
  /// in them); a stray `</p>` or `</br>` makes an element. Every search is remembered, so
  /// the whole pass stays linear.
  static func measure(_ bytes: [UInt8], html: Bool) -> Markup {
    bytes.withUnsafeBufferPointer { b -> Markup in
      guard let base = b.baseAddress else { return Markup() }
      let n = b.count
      let raw = UnsafeRawBufferPointer(b)
      var m = Markup()
      var segment = 0
      var i = 0
      @inline(__always) func lower(_ c: UInt8) -> UInt8 { c | 0x20 }
      @inline(__always) func isLetter(_ c: UInt8) -> Bool {
        lower(c) >= 0x61 && lower(c) <= 0x7A
      }
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
      // Searches remembered by needle: the cursor only moves forward, so the first match
      // at or after an earlier start is still the first at or after a later one.
      var found = [-1, -1, -1, -1]
      func find(_ k: Int, _ needle: StaticString, from: Int) -> Int {
        if found[k] >= from { return found[k] }
        found[k] = ByteSearch.find(needle, in: raw, from: from) ?? n
        return found[k]
      }
      func commentEnd(from: Int) -> Int {
        let end = find(0, "-->", from: from)
        let stop = end < n ? end + 3 : n
        guard html else { return stop }
        let bang = find(1, "--!>", from: from)
        return min(stop, bang < n ? bang + 4 : n)
      }
      // XML: where libxml2 stops reading a comment, CDATA section, instruction or
      // attribute value: a C0 control but tab, LF and CR, or U+FFFE / U+FFFF.
      var nextBad = html ? n : -1
      func bad(from: Int) -> Int {
        if nextBad >= from { return nextBad }
        var j = from
        nextBad = n
        while j < n {
          let c = b[j]
          if c < 0x20 && c != 0x09 && c != 0x0A && c != 0x0D { break }
          if c == 0xEF && j + 2 < n && b[j + 1] == 0xBF && (b[j + 2] == 0xBE || b[j + 2] == 0xBF) {
            break
          }
          j += 1
        }
        nextBad = j
        return nextBad
      }
      /// Whether `b[at...]` starts with `word` (lower-case ASCII letters), in any case.
      func startsWith(_ word: StaticString, at: Int) -> Bool {
        let w = UnsafeBufferPointer(start: word.utf8Start, count: word.utf8CodeUnitCount)
        guard at + w.count <= n else { return false }
        for k in 0..<w.count where lower(b[at + k]) != w[k] { return false }
        return true
      }
      /// The offset of `</word` (any case) from `from`, or `n`.
      func endTag(_ word: StaticString, from: Int) -> Int {
        var j = from
        while j < n, let p = memchr(base + j, 0x3C, n - j) {
          j = base.distance(to: p.assumingMemoryBound(to: UInt8.self)) + 1
          if j < n, b[j] == 0x2F, startsWith(word, at: j + 1) { return j }
        }
        return n
      }
      func count(_ nodes: Int) {
        m.nodes += nodes
        segment += nodes
      }
      var depth = 0  // open elements
      var rootIsFeed = false  // Atom: the reader expands a `channel` whole
      var inChannel = false  // the open depth-1 element is an RSS `channel`
      while i < n {
        guard let p = memchr(base + i, 0x3C, n - i) else { break }
        let start = base.distance(to: p.assumingMemoryBound(to: UInt8.self))
        i = start + 1
        guard i < n else { break }
        let c = b[i]
        if c == 0x2F {  // </
          depth = max(0, depth - 1)
          // libxml2's HTML parser makes an element for a stray </p> or </br>.
          if html, i + 1 < n,
            lower(b[i + 1]) == 0x70
              || (lower(b[i + 1]) == 0x62 && i + 2 < n && lower(b[i + 2]) == 0x72)
          {
            count(1)
          }
          continue
        }
        if c == 0x21 {  // <!
          if i + 2 < n, b[i + 1] == 0x2D, b[i + 2] == 0x2D {  // <!--
            i = min(commentEnd(from: i + 3), bad(from: i + 3))
            count(1)
          } else if !html, i + 7 < n, b[i + 1] == 0x5B, b[i + 7] == 0x5B,
            b[i + 2..<i + 7].elementsEqual("CDATA".utf8)
          {
            let end = find(2, "]]>", from: i + 8)
            i = min(end < n ? end + 3 : n, bad(from: i + 8))
            count(1)
          } else {
            // A declaration (DOCTYPE, ENTITY, ...): up to '>' or an internal subset's
            // '[', quoted literals stepped over (no comment opens in them) but their tags
            // counted (an entity's replacement is parsed when it is used).
            var j = i + 1
            var quote: UInt8 = 0
            while j < n {
              let d = b[j]
              if quote != 0 {
                if d == quote {
                  quote = 0
                } else if d == 0x3C, j + 1 < n, isNameStart(b[j + 1]) {
                  count(1)
                }
              } else if d == 0x22 || d == 0x27 {
                quote = d
              } else if d == 0x3E || d == 0x5B {
                break
              }
              j += 1
            }
            i = j
          }
          if !html { m.longestConstruct = max(m.longestConstruct, i - start) }
          continue
        }
        if c == 0x3F && !html {  // <?target ... ?>
          if i + 1 < n, isLetter(b[i + 1]) || b[i + 1] == 0x5F || b[i + 1] == 0x3A {
            let end = find(3, "?>", from: i + 2)
            i = min(end < n ? end + 2 : n, bad(from: i + 2))
            m.longestConstruct = max(m.longestConstruct, i - start)
            count(1)
          }
          continue
        }
        guard isNameStart(c) else { continue }
        // The name (HTML: at most 100 bytes), and its local part: after the last ':'.
        let name = i
        var local = i
        while i < n, isNameChar(b[i]), !html || i - name < 100 {
          if b[i] == 0x3A { local = i + 1 }
          i += 1
        }
        let nameLength = i - name
        let localName = b[local..<i]
        // The streaming reader expands each child of the root (but an RSS `channel`,
        // which it reads into) and each child of such a `channel`: the items it holds.
        if depth == 0 {
          rootIsFeed = localName.elementsEqual("feed".utf8)
        } else if depth == 1 {
          inChannel = !rootIsFeed && localName.elementsEqual("channel".utf8)
          if !inChannel {
            m.largestItem = max(m.largestItem, segment)
            segment = 0
          }
        } else if depth == 2 && inChannel {
          m.largestItem = max(m.largestItem, segment)
          segment = 0
        }
        // Attributes, up to the tag's '>' (or '/>').
        var attributes = 0
        var empty = false
        var ended = false  // XML: the tag broke off; what follows is content
        attributeLoop: while i < n {
          let d = b[i]
          if isSpace(d) {
            i += 1
            continue
          }
          if d == 0x3E {
            ended = true
            break
          }
          if d == 0x2F && i + 1 < n && b[i + 1] == 0x3E {
            empty = true
            ended = true
            i += 1
            break
          }
          guard isNameStart(d) else {
            if !html { break }  // XML: not an attribute; the tag ends here
            // HTML: libxml2 skips to the next space or the tag's end.
            i += 1
            while i < n, !isSpace(b[i]), b[i] != 0x3E,
              !(b[i] == 0x2F && i + 1 < n && b[i + 1] == 0x3E)
            {
              i += 1
            }
            continue
          }
          let attribute = i
          while i < n, isNameChar(b[i]), !html || i - attribute < 100 { i += 1 }
          attributes += 1
          var j = i
          while j < n, isSpace(b[j]) { j += 1 }
          guard j < n, b[j] == 0x3D else {
            if html { continue }  // HTML: no value
            break  // XML: a value is required
          }
          j += 1
          while j < n, isSpace(b[j]) { j += 1 }
          guard j < n, b[j] == 0x22 || b[j] == 0x27 else {
            if !html {  // XML: values are quoted
              i = j
              break
            }
            i = j
            while i < n, !isSpace(b[i]), b[i] != 0x3E { i += 1 }
            continue
          }
          let close =
            memchr(base + j + 1, Int32(b[j]), n - j - 1).map {
              base.distance(to: $0.assumingMemoryBound(to: UInt8.self))
            } ?? n
          if html {
            i = min(close + 1, n)
            continue
          }
          // XML: a '<' or a character XML does not allow ends the value and the tag.
          let cut = min(
            bad(from: j + 1),
            memchr(base + j + 1, 0x3C, max(0, close - j - 1)).map {
              base.distance(to: $0.assumingMemoryBound(to: UInt8.self))
            } ?? n)
          if cut < close {
            i = cut
            break attributeLoop
          }
          i = min(close + 1, n)
          // XML: the next attribute needs a space before it.
          if i < n, !isSpace(b[i]), b[i] != 0x3E, b[i] != 0x2F { break }
        }
        if !html { m.longestConstruct = max(m.longestConstruct, i - start) }
        m.mostAttributes = max(m.mostAttributes, attributes)
        count(1 + attributes)
        if attributes > maxAttributes { break }
        if !empty { depth += 1 }
        // `<script/>` is empty for libxml2; `<script>`'s content is raw text unless an
        // end tag follows at once.
        guard html, ended, !empty, i + 1 < n,
          !(b[i + 1] == 0x3C && i + 2 < n && b[i + 2] == 0x2F)
        else { continue }
        if nameLength == 6 && startsWith("script", at: name) {
          i = endTag("script", from: i + 1)
        } else if nameLength == 5 && startsWith("style", at: name) {
          i = endTag("style", from: i + 1)
        }
      }
      m.largestItem = max(m.largestItem, segment)
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

  /// Throws for a document libxml2 would spend quadratic time or too much memory on:
  /// an element with too many attributes, or too many nodes in the document (parsed
  /// whole) or in one item (`streamed`: the reader holds one item's tree at a time).
  @discardableResult
  static func refuseOversized(_ bytes: [UInt8], html: Bool = false, streamed: Bool = false)
    throws(XMLError) -> Markup
  {
    let m = measure(bytes, html: html)
    if m.mostAttributes > maxAttributes { throw .tooManyAttributes }
    if streamed ? m.largestItem > maxNodesPerItem : m.nodes > maxNodes {
      throw .tooManyElements
    }
    return m
  }

  /// Constructs longer than this are not given to the streaming reader: libxml2 2.9's
  /// reader feeds its push parser 512 bytes at a time, and the push parser looks again
  /// from the construct's start each time (a 9 MB attribute value of '>' ran for over a
  /// minute, a comment 35 s; the DOM parser reads either in a tenth of a second).
  static let longConstruct = 64 << 10

  /// Bytes as libxml2 will read them, and the encoding to tell it.
  struct Input {
    var bytes: [UInt8]
    var encoding: String?
    /// False when bytes the encoding cannot convert were replaced with U+FFFD.
    var clean = true
  }

  /// The document converted to UTF-8 up front, with libxml2's own converter for its
  /// encoding, whenever it is not UTF-8 already: the markup measure reads bytes, and in
  /// UTF-16, UTF-7 (`+ADw-` is `<`), EBCDIC and the like markup is not ASCII bytes.
  /// 2.4 million elements written in UTF-7 went past the element limit and took 460 MB.
  /// The encoding is the one given (read as the superset browsers use, see
  /// `webSuperset`), else what libxml2 detects from the first four bytes (a byte order
  /// mark, UTF-16/32 or EBCDIC markup). A name libxml2 does not know is left to the
  /// parser, which refuses it.
  static func decode(_ bytes: [UInt8], encoding given: String?, xml: Bool = false) -> Input {
    let handler: xmlCharEncodingHandlerPtr?
    // XML read with no encoding given: libxml2 would follow the declaration's.
    let encoding = given ?? (xml ? declaredEncoding(bytes) : nil)
    if let encoding {
      let name = encoding.lowercased()
      if name == "utf-8" || name == "utf8" { return Input(bytes: bytes, encoding: encoding) }
      handler = xmlFindCharEncodingHandler(webSuperset[name] ?? encoding)
    } else {
      guard bytes.count >= 4 else { return Input(bytes: bytes, encoding: nil) }
      let detected = xmlDetectCharEncoding(bytes, 4)
      if detected == XML_CHAR_ENCODING_NONE || detected == XML_CHAR_ENCODING_UTF8 {
        return Input(bytes: bytes, encoding: nil)
      }
      handler = xmlGetCharEncodingHandler(detected)
    }
    guard let handler else { return Input(bytes: bytes, encoding: given) }
    defer { xmlCharEncCloseFunc(handler) }
    guard let (out, clean) = convert(bytes, with: handler) else {
      return Input(bytes: bytes, encoding: given)
    }
    return Input(bytes: out, encoding: "UTF-8", clean: clean)
  }

  /// The `encoding` of an ASCII `<?xml ...?>` declaration at the very start, unless UTF-8.
  static func declaredEncoding(_ b: [UInt8]) -> String? {
    guard b.starts(with: "<?xml".utf8), let end = b.prefix(256).firstIndex(of: 0x3E) else {
      return nil
    }
    let decl = b[..<end]
    let word = Array("encoding".utf8)
    guard let at = decl.indices.first(where: { decl[$0...].starts(with: word) }) else {
      return nil
    }
    var i = at + word.count
    while i < end, decl[i] == 0x20 || decl[i] == 0x3D || decl[i] == 0x09 { i += 1 }
    guard i < end, decl[i] == 0x22 || decl[i] == 0x27 else { return nil }
    let quote = decl[i]
    let value = decl[(i + 1)...].prefix { $0 != quote }
    let name = String(decoding: value, as: UTF8.self)
    let lower = name.lowercased()
    // A wide encoding declared in ASCII bytes is wrong, and libxml2 reads on as UTF-8.
    let wide = [
      "utf-16", "utf16", "utf-32", "utf32", "ucs-2", "ucs2", "ucs-4", "ucs4", "iso-10646",
    ]
    if lower.isEmpty || lower == "utf-8" || lower == "utf8"
      || wide.contains(where: { lower.hasPrefix($0) })
    {
      return nil
    }
    return name
  }

  /// Legacy encodings as browsers read them (the WHATWG Encoding Standard): the names
  /// documents give mean the vendor supersets (Shift_JIS pages hold CP932's ① and 髙,
  /// which strict Shift_JIS cannot convert).
  static let webSuperset: [String: String] = {
    var m: [String: String] = [:]
    for (target, labels) in [
      ("CP932", ["shift_jis", "shift-jis", "sjis", "x-sjis", "ms_kanji", "csshiftjis", "ms932"]),
      (
        "CP949",
        [
          "euc-kr", "ks_c_5601-1987", "ks_c_5601-1989", "ksc5601", "ksc_5601", "korean",
          "iso-ir-149", "csksc56011987", "windows-949", "csEUCKR",
        ]
      ),
      (
        "GB18030",
        [
          "gb2312", "gb_2312", "gb_2312-80", "chinese", "csgb2312", "csiso58gb231280",
          "iso-ir-58", "x-gbk", "gbk", "cp936", "ms936", "windows-936",
        ]
      ),
      ("BIG5-HKSCS", ["big5", "cn-big5", "csbig5", "x-x-big5"]),
      ("EUC-JP-MS", ["euc-jp", "cseucpkdfmtjapanese", "x-euc-jp"]),
      ("WINDOWS-1254", ["iso-8859-9", "iso8859-9", "iso_8859-9", "latin5", "l5", "iso-ir-148"]),
      ("WINDOWS-874", ["tis-620", "iso-8859-11", "iso8859-11", "dos-874"]),
      (
        "WINDOWS-1252",
        [
          "iso-8859-1", "iso8859-1", "iso_8859-1", "latin1", "l1", "us-ascii", "ascii",
          "cp819", "ibm819", "iso-ir-100", "csisolatin1",
        ]
      ),
    ] {
      for label in labels { m[label.lowercased()] = target }
    }
    return m
  }()

  /// Bytes a converter cannot convert that are replaced before the rest is dropped.
  static let maxReplacements = 1 << 16

  /// `bytes` converted to UTF-8 by `handler`, a chunk at a time from an offset (no
  /// buffer shifting per bad byte: that was quadratic, 45 s for 1 MB of them). A byte the
  /// converter refuses becomes U+FFFD; past `maxReplacements` the rest is dropped.
  static func convert(
    _ bytes: [UInt8], with handler: xmlCharEncodingHandlerPtr
  ) -> (bytes: [UInt8], clean: Bool)? {
    let big = 1 << 16
    let small = 16
    guard let source = xmlBufferCreateSize(big + 1), let sink = xmlBufferCreateSize(4 * big)
    else { return nil }
    defer {
      xmlBufferFree(source)
      xmlBufferFree(sink)
    }
    var out: [UInt8] = []
    out.reserveCapacity(bytes.count + bytes.count / 2)
    var offset = 0
    var chunk = big
    var replaced = 0
    // A bad UTF-16 or UTF-32 unit is skipped whole, so that what follows stays aligned.
    let name = handler.pointee.name.map { String(cString: $0).uppercased() } ?? ""
    let unit =
      ["UTF-32", "UTF32", "UCS-4", "UCS4", "ISO-10646-UCS-4"].contains(where: name.hasPrefix)
      ? 4
      : ["UTF-16", "UTF16", "UCS-2", "UCS2", "ISO-10646-UCS-2", "UNICODE", "CSUNICODE"].contains(
        where: name.hasPrefix) ? 2 : 1
    bytes.withUnsafeBufferPointer { b in
      guard let base = b.baseAddress else { return }
      while offset < b.count {
        let length = min(chunk, b.count - offset)
        xmlBufferEmpty(source)
        xmlBufferEmpty(sink)
        _ = xmlBufferAdd(source, base + offset, Int32(length))
        _ = xmlCharEncInFunc(handler, sink, source)
        let consumed = length - Int(xmlBufferLength(source))
        let written = Int(xmlBufferLength(sink))
        if written > 0, let content = xmlBufferContent(sink) {
          out.append(contentsOf: UnsafeBufferPointer(start: content, count: written))
        }
        offset += consumed
        if consumed > 0 {
          if consumed == length { chunk = min(chunk * 2, big) }
          continue
        }
        // Nothing converted from at least `small` bytes (or the last few): a byte the
        // encoding cannot convert, or a truncated last character.
        replaced += 1
        if replaced > maxReplacements {
          offset = b.count
          break
        }
        out += [0xEF, 0xBF, 0xBD]
        offset = min(offset + unit, b.count)
        chunk = small
      }
    }
    return (out, replaced == 0)
  }

  /// One-time, process-wide: initialize the parser and refuse every external entity.
  static let once: Void = {
    xmlInitParser()
    xmlSetExternalEntityLoader { _, _, _ in nil }
  }()

  /// Once per process: init and the entity loader; every call: silence libxml2's
  /// stderr output on this thread (its handlers are thread-local).
  static func setUp() {
    _ = once
    fs_xml_silence_thread()
  }

  static func lastError(_ ctxt: xmlParserCtxtPtr) -> String? {
    guard let msg = ctxt.pointee.lastError.message else { return nil }
    return String(cString: msg).trimmingTrailingNewlines()
  }
}

extension String {
  fileprivate func trimmingTrailingNewlines() -> String {
    var s = self
    while s.last == "\n" { s.removeLast() }
    return s
  }
}

/// Byte search for the pre-parse scans (this module's and the feed parser's).
public enum ByteSearch {
  /// The offset of the first `needle` in `haystack[from...]`, or nil.
  public static func find(
    _ needle: StaticString, in haystack: UnsafeRawBufferPointer, from: Int
  ) -> Int? {
    guard let base = haystack.baseAddress, from < haystack.count,
      let hit = gnuMemmem(
        base + from, haystack.count - from, needle.utf8Start, needle.utf8CodeUnitCount)
    else { return nil }
    return base.distance(to: UnsafeRawPointer(hit))
  }
}

/// glibc's memmem(3) (a GNU extension the Glibc module does not export).
@_silgen_name("memmem")
private func gnuMemmem(
  _ haystack: UnsafeRawPointer, _ haystackLength: Int, _ needle: UnsafeRawPointer,
  _ needleLength: Int
) -> UnsafeMutableRawPointer?
