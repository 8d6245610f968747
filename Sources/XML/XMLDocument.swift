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
  /// The `encoding` pseudo-attribute of an ASCII `<?xml ...?>` declaration at the very
  /// start of `b`, as written but for surrounding white space; nil when there is none or
  /// it is empty.
  public static func declaredEncoding(_ b: ArraySlice<UInt8>) -> String? {
    let head = b.prefix(512)
    guard head.starts(with: "<?xml".utf8), let end = head.firstIndex(of: 0x3E) else {
      return nil
    }
    let decl = head[..<end]
    let word = "encoding".utf8
    guard let at = decl.indices.first(where: { decl[$0...].starts(with: word) }) else {
      return nil
    }
    var i = at + word.count
    while i < end, decl[i] == 0x20 || decl[i] == 0x3D || decl[i] == 0x09 { i += 1 }
    guard i < end, decl[i] == 0x22 || decl[i] == 0x27,
      let close = decl[(i + 1)...].firstIndex(of: decl[i])
    else { return nil }
    func isSpace(_ c: UInt8) -> Bool { c == 0x20 || c == 0x09 || c == 0x0A || c == 0x0D }
    var value = decl[(i + 1)..<close]
    while let c = value.first, isSpace(c) { value = value.dropFirst() }
    while let c = value.last, isSpace(c) { value = value.dropLast() }
    return value.isEmpty ? nil : String(decoding: value, as: UTF8.self)
  }

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
    let encoding = given ?? (xml ? declaredConversion(bytes) : nil)
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

  /// The encoding an XML document with none given declares, when it has to be converted:
  /// not UTF-8, and not a wide encoding declared in ASCII bytes (which is wrong, and
  /// libxml2 reads on as UTF-8).
  static func declaredConversion(_ b: [UInt8]) -> String? {
    guard let name = XMLDocument.declaredEncoding(b[...]) else { return nil }
    let lower = name.lowercased()
    let wide = [
      "utf-16", "utf16", "utf-32", "utf32", "ucs-2", "ucs2", "ucs-4", "ucs4", "iso-10646",
    ]
    if lower == "utf-8" || lower == "utf8" || wide.contains(where: { lower.hasPrefix($0) }) {
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
