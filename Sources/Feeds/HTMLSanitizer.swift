import XML

#if canImport(Glibc)
  import Glibc
#endif

/// Cleans HTML found in feeds: keeps an allow-list of elements and attributes, drops
/// `script`/`style`/`applet` with their content, event handlers, `javascript:` and other
/// unsafe URLs, and CSS beyond a small safe subset; resolves relative URLs against the
/// base in effect. Follows feedparser's conventions (which elements survive, `<br />`
/// for empty elements) so results compare with the corpus.
///
/// A small tokenizer over UTF-8 bytes, no DOM: it runs on every summary and content.
public enum HTMLSanitizer {
  public static func sanitize(_ html: String, base: String?) -> String {
    sanitize(html, baseProvider: { base })
  }

  /// `sanitize` over UTF-8 bytes (libxml2's text in place), ASCII whitespace trimmed first.
  static func sanitize(trimming bytes: UnsafeBufferPointer<UInt8>, baseProvider: () -> String?)
    -> String
  {
    var s = 0
    var e = bytes.count
    while s < e, isSpace(bytes[s]) { s += 1 }
    while e > s, isSpace(bytes[e - 1]) { e -= 1 }
    return sanitize(bytes: UnsafeBufferPointer(rebasing: bytes[s..<e]), baseProvider: baseProvider)
      ?? String(decoding: UnsafeBufferPointer(rebasing: bytes[s..<e]), as: UTF8.self)
  }

  /// `baseProvider` is called at most once, and only when a relative URL needs it.
  static func sanitize(_ html: String, baseProvider: () -> String?) -> String {
    var html = html
    return html.withUTF8 { sanitize(bytes: $0, baseProvider: baseProvider) } ?? html
  }

  /// The sanitized text, or nil when it comes out exactly as it went in (no tags, no
  /// numeric references): the caller keeps what it has.
  static func sanitize(bytes p: UnsafeBufferPointer<UInt8>, baseProvider: () -> String?)
    -> String?
  {
    var i = 0
    let n = p.count
    while i < n {
      if p[i] == 0x3C || (p[i] == 0x26 && i + 1 < n && p[i + 1] == 0x23) { break }
      i += 1
    }
    if i == n { return nil }
    var input = [UInt8](repeating: 0, count: n + 4)  // sentinels: lookahead never leaves the buffer
    input.withUnsafeMutableBufferPointer { d in
      _ = UnsafeMutableBufferPointer(rebasing: d[0..<n]).initialize(fromContentsOf: p)
    }
    var out: [UInt8] = []
    out.reserveCapacity(n)
    input.withUnsafeBufferPointer { q in
      run(q, count: n, baseProvider: baseProvider, into: &out)
    }
    return String(decoding: out, as: UTF8.self)
  }

  static let acceptableElements: Set<String> = [
    "a", "abbr", "acronym", "address", "area", "article", "aside", "audio", "b", "big",
    "blockquote", "br", "button", "canvas", "caption", "center", "cite", "code", "col",
    "colgroup", "command", "datagrid", "datalist", "dd", "del", "details", "dfn", "dialog", "dir",
    "div", "dl", "dt", "em", "event-source", "fieldset", "figcaption", "figure", "footer", "font",
    "form", "header", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "input", "ins",
    "keygen", "kbd", "label", "legend", "li", "m", "map", "menu", "meter", "multicol", "nav",
    "nextid", "ol", "output", "optgroup", "option", "p", "pre", "progress", "q", "s", "samp",
    "section", "select", "small", "sound", "source", "spacer", "span", "strike", "strong", "sub",
    "sup", "table", "tbody", "td", "textarea", "time", "tfoot", "th", "thead", "tr", "tt", "u",
    "ul", "var", "video", "noscript",
  ]

  static let acceptableAttributes: Set<String> = [
    "abbr", "accept", "accept-charset", "accesskey", "action", "align", "alt", "autocomplete",
    "autofocus", "axis", "background", "balance", "bgcolor", "bgproperties", "border",
    "bordercolor", "bordercolordark", "bordercolorlight", "bottompadding", "cellpadding",
    "cellspacing", "ch", "challenge", "char", "charoff", "choff", "charset", "checked", "cite",
    "class", "clear", "color", "cols", "colspan", "compact", "contenteditable", "controls",
    "coords", "data", "datafld", "datapagesize", "datasrc", "datetime", "default", "delay", "dir",
    "disabled", "draggable", "dynsrc", "enctype", "end", "face", "for", "form", "frame",
    "galleryimg", "gutter", "headers", "height", "hidefocus", "hidden", "high", "href",
    "hreflang", "hspace", "icon", "id", "inputmode", "ismap", "keytype", "label", "leftspacing",
    "lang", "list", "longdesc", "loop", "loopcount", "loopend", "loopstart", "low", "lowsrc", "max",
    "maxlength", "media", "method", "min", "multiple", "name", "nohref", "noshade", "nowrap",
    "open", "optimum", "pattern", "ping", "point-size", "poster", "pqg", "preload", "prompt",
    "radiogroup", "readonly", "rel", "repeat-max", "repeat-min", "replace", "required", "rev",
    "rightspacing", "rows", "rowspan", "rules", "scope", "selected", "shape", "size", "span", "src",
    "start", "step", "summary", "suppress", "tabindex", "target", "template", "title",
    "toppadding", "type", "unselectable", "usemap", "urn", "valign", "value", "variable", "volume",
    "vspace", "vrml", "width", "wrap", "xml:lang",
  ]

  static let svgElements: Set<String> = [
    "a", "animate", "animateColor", "animateMotion", "animateTransform", "circle", "clipPath",
    "defs", "desc", "ellipse", "font-face", "font-face-name", "font-face-src", "g", "glyph",
    "hkern", "linearGradient", "line", "marker", "metadata", "missing-glyph", "mpath", "path",
    "polygon", "polyline", "radialGradient", "rect", "set", "stop", "svg", "switch", "text",
    "title", "tspan", "use",
  ]

  static let svgAttributes: Set<String> = [
    "accent-height", "accumulate", "additive", "alphabetic", "arabic-form", "ascent",
    "attributeName", "attributeType", "baseProfile", "bbox", "begin", "by", "calcMode",
    "cap-height", "class", "clip-path", "color", "color-rendering", "content", "cx", "cy", "d",
    "dx", "dy", "descent", "display", "dur", "end", "fill", "fill-opacity", "fill-rule",
    "font-family", "font-size", "font-stretch", "font-style", "font-variant", "font-weight", "from",
    "fx", "fy", "g1", "g2", "glyph-name", "gradientUnits", "hanging", "height", "horiz-adv-x",
    "horiz-origin-x", "id", "ideographic", "k", "keyPoints", "keySplines", "keyTimes", "lang",
    "mathematical", "marker-end", "marker-mid", "marker-start", "markerHeight", "markerUnits",
    "markerWidth", "max", "min", "name", "offset", "opacity", "orient", "origin",
    "overline-position", "overline-thickness", "panose-1", "path", "pathLength", "points",
    "preserveAspectRatio", "r", "refX", "refY", "repeatCount", "repeatDur", "requiredExtensions",
    "requiredFeatures", "restart", "rotate", "rx", "ry", "slope", "stemh", "stemv", "stop-color",
    "stop-opacity", "strikethrough-position", "strikethrough-thickness", "stroke",
    "stroke-dasharray", "stroke-dashoffset", "stroke-linecap", "stroke-linejoin",
    "stroke-miterlimit", "stroke-opacity", "stroke-width", "systemLanguage", "target",
    "text-anchor", "to", "transform", "type", "u1", "u2", "underline-position",
    "underline-thickness", "unicode", "unicode-range", "units-per-em", "values", "version",
    "viewBox", "visibility", "width", "widths", "x", "x-height", "x1", "x2", "xlink:actuate",
    "xlink:arcrole", "xlink:href", "xlink:role", "xlink:show", "xlink:title", "xlink:type",
    "xml:base", "xml:lang", "xml:space", "xmlns", "xmlns:xlink", "y", "y1", "y2", "zoomAndPan",
  ]

  /// Elements dropped together with everything inside them.
  static let droppedWithContent: Set<String> = ["script", "applet", "style"]

  static let voidElements: Set<String> = [
    "area", "base", "basefont", "br", "col", "command", "embed", "frame", "hr", "img", "input",
    "isindex", "keygen", "link", "meta", "param", "source", "track", "wbr",
  ]

  static let uriAttributes: Set<String> = [
    "href", "src", "cite", "action", "longdesc", "usemap", "background", "poster", "codebase",
    "data", "profile", "dynsrc", "lowsrc",
  ]

  static let safeSchemes: Set<String> = [
    "file", "ftp", "gopher", "h323", "hdl", "http", "https", "imap", "magnet", "mailto", "mms",
    "news", "nntp", "prospero", "rsync", "rtsp", "rtspu", "sftp", "shttp", "sip", "sips", "snews",
    "svn", "svn+ssh", "telnet", "wais", "aim", "callto", "cvs", "facetime", "feed", "git", "gtalk",
    "irc", "ircs", "irc6", "itms", "msnim", "skype", "ssh", "smb", "ymsg",
  ]

  @inline(__always) static func lower(_ c: UInt8) -> UInt8 {
    c >= 0x41 && c <= 0x5A ? c | 0x20 : c
  }
  @inline(__always) static func isSpace(_ c: UInt8) -> Bool {
    c == 0x20 || c == 0x09 || c == 0x0A || c == 0x0D || c == 0x0C
  }
  @inline(__always) static func isAlpha(_ c: UInt8) -> Bool {
    (c | 0x20) >= 0x61 && (c | 0x20) <= 0x7A
  }

  // MARK: Name lookup without strings
  //
  // Every tag and attribute name is looked up on every summary and content of every item;
  // building a lowercased String and hashing it for each set was a fifth of parse time.
  // Names of up to 8 bytes are packed, ASCII-lowercased, into a UInt64 and looked up once
  // in a table of flags built from the sets above; longer names take the String path.

  static let elementAcceptable: UInt8 = 1
  static let elementVoid: UInt8 = 2
  static let elementDropped: UInt8 = 4
  static let elementSVGRoot: UInt8 = 8
  static let attributeAcceptable: UInt8 = 1
  static let attributeURI: UInt8 = 2
  static let attributeStyle: UInt8 = 4

  static func elementFlags(ofLowercased name: String) -> UInt8 {
    var f: UInt8 = 0
    if acceptableElements.contains(name) { f |= elementAcceptable }
    if voidElements.contains(name) { f |= elementVoid }
    if droppedWithContent.contains(name) { f |= elementDropped }
    if name == "svg" { f |= elementSVGRoot }
    return f
  }

  static func attributeFlags(ofLowercased name: String) -> UInt8 {
    var f: UInt8 = 0
    if acceptableAttributes.contains(name) { f |= attributeAcceptable }
    if uriAttributes.contains(name) { f |= attributeURI }
    if name == "style" { f |= attributeStyle }
    return f
  }

  static func packedTable(_ names: Set<String>, _ flags: (String) -> UInt8) -> IntTable<UInt8> {
    var table = IntTable<UInt8>(capacity: names.count)
    for name in names where name.utf8.count <= 8 {
      let bytes = Array(name.utf8)
      bytes.withUnsafeBufferPointer { p in
        if let key = pack(p, 0, p.count) { table[key] = flags(name) }
      }
    }
    return table
  }

  static let elementTable = packedTable(
    acceptableElements.union(voidElements).union(droppedWithContent).union(["svg"]),
    elementFlags(ofLowercased:))
  static let attributeTable = packedTable(
    acceptableAttributes.union(uriAttributes).union(["style"]), attributeFlags(ofLowercased:))

  /// The name `p[s..<e]`, ASCII-lowercased, as little-endian bytes of a UInt64; nil when
  /// empty or longer than 8 bytes.
  @inline(__always) static func pack(_ p: UnsafeBufferPointer<UInt8>, _ s: Int, _ e: Int)
    -> UInt64?
  {
    guard e > s, e - s <= 8 else { return nil }
    var key: UInt64 = 0
    var shift: UInt64 = 0
    for k in s..<e {
      key |= UInt64(lower(p[k])) << shift
      shift += 8
    }
    return key
  }

  static func elementFlags(_ p: UnsafeBufferPointer<UInt8>, _ s: Int, _ e: Int) -> UInt8 {
    if let key = pack(p, s, e) { return elementTable[key] ?? 0 }
    let written = String(decoding: UnsafeBufferPointer(rebasing: p[s..<e]), as: UTF8.self)
    return elementFlags(ofLowercased: XMLFeedParser.lowerASCII(written))
  }

  static func run(
    _ p: UnsafeBufferPointer<UInt8>, count n: Int, baseProvider: () -> String?,
    into out: inout [UInt8]
  ) {
    var baseDone = false
    var baseValue: String?
    func base() -> String? {
      if !baseDone {
        baseValue = baseProvider()
        baseDone = true
      }
      return baseValue
    }
    var i = 0
    var textStart = 0
    // Start tags of script/applet/style minus their end tags; text and markup only
    // come out while it is 0. A stray end tag makes it negative, which also hides
    // what follows until a start tag evens it out (feedparser behaves the same way).
    var unacceptable = 0
    var skipping: Bool { unacceptable != 0 }
    var svgDepth = 0
    var attrs: [(Int, Int, Int, Int)] = []  // name start/end, value start/end (-1: none)
    var look = Lookahead(p, count: n)

    func flushText(_ end: Int) {
      if !skipping, end > textStart { appendText(p, textStart, end, into: &out) }
    }

    let start = UnsafeMutablePointer(mutating: p.baseAddress!)
    while i < n {
      guard p[i] == 0x3C else {
        // Text runs to the next '<'.
        if let hit = memchr(start + i, 0x3C, n - i) {
          i = hit.assumingMemoryBound(to: UInt8.self) - start
        } else {
          i = n
        }
        continue
      }
      let c1 = p[i + 1]
      if c1 == 0x21 || c1 == 0x3F {  // <! or <?: comments kept, declarations and PIs dropped
        if c1 == 0x21 && p[i + 2] == 0x2D && p[i + 3] == 0x2D {
          var k = look.commentEnd(from: i + 4)
          var end = k + 3
          if k >= n {
            // No "-->": SGML ends the comment at the next '>'.
            k = look.greaterThan(from: i + 4)
            end = k + 1
            if k < n {
              flushText(i)
              i = end
              textStart = i
              continue
            }
          }
          if k < n {
            flushText(i)
            if !skipping { out.append(contentsOf: p[i..<min(end, n)]) }
            i = min(end, n)
            textStart = i
            continue
          }
        } else if c1 == 0x21 && p[i + 2] == 0x5B {  // <![CDATA[ ... ]]>: keep its text
          flushText(i)
          var k = i + 3
          while k < n, p[k] != 0x5B { k += 1 }
          let s = min(k + 1, n)
          k = s
          while k < n, !(p[k] == 0x5D && p[k + 1] == 0x5D && p[k + 2] == 0x3E) { k += 1 }
          if !skipping { appendEscaped(p, s, k, into: &out) }
          i = min(k + 3, n)
          textStart = i
          continue
        } else if c1 == 0x3F || isAlpha(p[i + 2]) {
          let k = look.greaterThan(from: i + 2)
          if k < n {
            flushText(i)
            i = k + 1
            textStart = i
            continue
          }
          if c1 == 0x21 {
            // An unfinished declaration at the very end stays as it was written.
            i += 1
            continue
          }
        }
        // Not markup after all: a literal '<'.
        flushText(i)
        if !skipping { out.append(contentsOf: [0x26, 0x6C, 0x74, 0x3B]) }
        i += 1
        textStart = i
        continue
      }
      let isEnd = c1 == 0x2F
      let nameStart = isEnd ? i + 2 : i + 1
      guard isAlpha(p[nameStart]) else {
        // A lone '<' is text.
        flushText(i)
        if !skipping { out.append(contentsOf: [0x26, 0x6C, 0x74, 0x3B]) }
        i += 1
        textStart = i
        continue
      }
      flushText(i)
      if look.armed && !look.tagEnds(nameStart: nameStart) {
        // An unterminated tag is text (as below, found without reading to the end again).
        if !skipping { out.append(contentsOf: [0x26, 0x6C, 0x74, 0x3B]) }
        i += 1
        textStart = i
        continue
      }
      var k = nameStart
      while k < n, !isSpace(p[k]), p[k] != 0x3E, p[k] != 0x2F { k += 1 }
      let nameEnd = k
      // Attributes, as ranges into the input (no copies until one is kept).
      attrs.removeAll(keepingCapacity: true)
      var selfClosing = false
      while k < n, p[k] != 0x3E {
        if isSpace(p[k]) {
          k += 1
          continue
        }
        if p[k] == 0x2F {
          selfClosing = true
          k += 1
          continue
        }
        selfClosing = false
        let an = k
        while k < n, !isSpace(p[k]), p[k] != 0x3E, p[k] != 0x3D, !(p[k] == 0x2F && p[k + 1] == 0x3E)
        {
          k += 1
        }
        let ae = k
        while k < n, isSpace(p[k]) { k += 1 }
        var vs = -1
        var ve = -1
        if k < n, p[k] == 0x3D {
          k += 1
          while k < n, isSpace(p[k]) { k += 1 }
          if k < n, p[k] == 0x22 || p[k] == 0x27 {
            let q = p[k]
            k += 1
            vs = k
            while k < n, p[k] != q { k += 1 }
            ve = k
            if k < n { k += 1 }
          } else {
            vs = k
            while k < n, !isSpace(p[k]), p[k] != 0x3E { k += 1 }
            ve = k
          }
        }
        if ae > an { attrs.append((an, ae, vs, ve)) }
      }
      if k >= n {
        // An unterminated tag is text.
        look.armed = true
        if !skipping { out.append(contentsOf: [0x26, 0x6C, 0x74, 0x3B]) }
        i += 1
        textStart = i
        continue
      }
      i = k + 1
      textStart = i
      let flags = elementFlags(p, nameStart, nameEnd)

      if flags & elementDropped != 0 {
        if isEnd {
          unacceptable -= 1
        } else if !selfClosing {
          unacceptable += 1
        }
        continue
      }
      if skipping { continue }
      // Inside <svg>, SVG's own elements and attributes (case as written) are kept.
      let isSVGRoot = flags & elementSVGRoot != 0
      let inSVG = svgDepth > 0 || isSVGRoot
      let isSVGElement =
        inSVG
        && svgElements.contains(
          String(decoding: UnsafeBufferPointer(rebasing: p[nameStart..<nameEnd]), as: UTF8.self))
      guard flags & elementAcceptable != 0 || isSVGElement else { continue }
      let isVoid = flags & elementVoid != 0
      // The name as written for SVG's elements, lowercased for HTML's.
      func appendName() {
        if isSVGElement {
          out.append(contentsOf: UnsafeBufferPointer(rebasing: p[nameStart..<nameEnd]))
        } else {
          for k in nameStart..<nameEnd { out.append(lower(p[k])) }
        }
      }
      if isEnd {
        if isSVGRoot && svgDepth > 0 { svgDepth -= 1 }
        if isVoid { continue }
        out.append(contentsOf: [0x3C, 0x2F])
        appendName()
        out.append(0x3E)
        continue
      }
      if isSVGRoot && !selfClosing { svgDepth += 1 }
      out.append(0x3C)
      appendName()
      var seen: [[UInt8]] = []
      var kept: [([UInt8], String, Bool)] = []
      var hasXLink = false
      var declaresXLink = false
      for (ns, ne, vs, ve) in attrs {
        // Outside SVG, a short name is decided by the table, without building Strings.
        if !inSVG, let key = pack(p, ns, ne) {
          guard let f = attributeTable[key] else { continue }
          let isStyle = f & attributeStyle != 0
          guard isStyle || f & attributeAcceptable != 0 else { continue }
          var an: [UInt8] = []
          an.reserveCapacity(ne - ns)
          for k in ns..<ne { an.append(lower(p[k])) }
          guard !seen.contains(an) else { continue }
          var v =
            vs >= 0
            ? String(decoding: UnsafeBufferPointer(rebasing: p[vs..<ve]), as: UTF8.self)
            : String(decoding: an, as: UTF8.self)
          var isURI = false
          if isStyle {
            v = sanitizeStyle(decodeEntities(v))
            if v.isEmpty { continue }
          } else if f & attributeURI != 0 {
            v = safeURI(decodeEntities(v), base: base())
            isURI = true
          }
          seen.append(an)
          kept.append((an, v, isURI || isStyle))
          continue
        }
        let written = String(decoding: UnsafeBufferPointer(rebasing: p[ns..<ne]), as: UTF8.self)
        let aname = XMLFeedParser.lowerASCII(written)
        let an = Array(aname.utf8)
        let aw = Array(written.utf8)
        guard !seen.contains(an) else { continue }
        var v =
          vs >= 0
          ? String(decoding: UnsafeBufferPointer(rebasing: p[vs..<ve]), as: UTF8.self) : aname
        var isURI = false
        if inSVG && svgAttributes.contains(written) {
          if written == "xlink:href" {
            hasXLink = true
            v = safeURI(decodeEntities(v), base: base())
            isURI = true
          }
          if written == "xmlns:xlink" { declaresXLink = true }
          seen.append(an)
          kept.append((aw, v, isURI))
          continue
        }
        if aname == "style" {
          v = sanitizeStyle(decodeEntities(v))
          if v.isEmpty { continue }
        } else {
          guard acceptableAttributes.contains(aname) else { continue }
          if uriAttributes.contains(aname) {
            v = safeURI(decodeEntities(v), base: base())
            isURI = true
          }
        }
        seen.append(an)
        kept.append((an, v, isURI || aname == "style"))
      }
      if hasXLink && !declaresXLink {
        kept.append((Array("xmlns:xlink".utf8), "http://www.w3.org/1999/xlink", false))
      }
      // Attributes come out sorted by name, feedparser's order.
      kept.sort { $0.0.lexicographicallyPrecedes($1.0) }
      for (an, v, decoded) in kept {
        out.append(0x20)
        out.append(contentsOf: an)
        out.append(contentsOf: [0x3D, 0x22])
        appendAttributeEscaped(v, decoded: decoded, into: &out)
        out.append(0x22)
      }
      if isVoid {
        out.append(contentsOf: [0x20, 0x2F, 0x3E])
      } else {
        out.append(0x3E)
        // `<x/>` becomes `<x></x>`; with attributes, only the start tag stays
        // (feedparser's way).
        if selfClosing && attrs.isEmpty {
          out.append(contentsOf: [0x3C, 0x2F])
          appendName()
          out.append(0x3E)
        }
      }
    }
    flushText(n)
    // Leading and trailing whitespace is not content.
    while let l = out.last, isSpace(l) { out.removeLast() }
    var lead = 0
    while lead < out.count, isSpace(out[lead]) { lead += 1 }
    if lead > 0 { out.removeFirst(lead) }
  }

  /// Text goes out as it came, except that references to windows-1252 code points
  /// (`&#146;`, a classic) become the characters they meant and `<`/`>` are escaped.
  static func appendText(
    _ p: UnsafeBufferPointer<UInt8>, _ s: Int, _ e: Int, into out: inout [UInt8]
  ) {
    var i = s
    var run = s  // start of bytes not yet copied
    let start = UnsafeMutablePointer(mutating: p.baseAddress!)
    while i < e {
      let c = p[i]
      if c != 0x26 {
        // Only references can change; skip to the next '&'.
        if let hit = memchr(start + i, 0x26, e - i) {
          i = hit.assumingMemoryBound(to: UInt8.self) - start
        } else {
          i = e
        }
        continue
      }
      if p[i + 1] == 0x23 {
        var k = i + 2
        var hex = false
        if p[k] == 0x78 || p[k] == 0x58 {
          hex = true
          k += 1
        }
        let ds = k
        var v: UInt32 = 0
        while k < e, k - ds < 8,
          (p[k] >= 0x30 && p[k] <= 0x39) || (hex && (p[k] | 0x20) >= 0x61 && (p[k] | 0x20) <= 0x66)
        {
          v =
            v * (hex ? 16 : 10)
            + (p[k] <= 0x39 ? UInt32(p[k] - 0x30) : UInt32((p[k] | 0x20) - 0x61 + 10))
          k += 1
        }
        if k > ds, v >= 0x80, v <= 0x9F {
          out.append(contentsOf: UnsafeBufferPointer(rebasing: p[run..<i]))
          let mapped = FeedBytes.cp1252Scalar(UInt8(v))
          out.append(contentsOf: Array("&#x\(String(mapped, radix: 16));".utf8))
          i = k < e && p[k] == 0x3B ? k + 1 : k
          run = i
          continue
        }
      }
      i += 1
    }
    if run < e { out.append(contentsOf: UnsafeBufferPointer(rebasing: p[run..<e])) }
  }

  static func appendEscaped(
    _ p: UnsafeBufferPointer<UInt8>, _ s: Int, _ e: Int, into out: inout [UInt8]
  ) {
    var k = s
    while k < e {
      // The bytes up to the next one to escape go in at once.
      var j = k
      while j < e && p[j] != 0x26 && p[j] != 0x3C && p[j] != 0x3E { j += 1 }
      if j > k { out.append(contentsOf: UnsafeBufferPointer(rebasing: p[k..<j])) }
      if j == e { break }
      switch p[j] {
      case 0x26: out.append(contentsOf: "&amp;".utf8)
      case 0x3C: out.append(contentsOf: "&lt;".utf8)
      default: out.append(contentsOf: "&gt;".utf8)
      }
      k = j + 1
    }
  }

  /// A decoded value has every `&` escaped; a raw one keeps its references as written.
  static func appendAttributeEscaped(_ v: String, decoded: Bool, into out: inout [UInt8]) {
    if !v.utf8.contains(where: { $0 == 0x26 || $0 == 0x3C || $0 == 0x3E || $0 == 0x22 }) {
      out.append(contentsOf: v.utf8)
      return
    }
    for b in v.utf8 {
      switch b {
      case 0x26: if decoded { out.append(contentsOf: "&amp;".utf8) } else { out.append(b) }
      case 0x3C: out.append(contentsOf: "&lt;".utf8)
      case 0x3E: out.append(contentsOf: "&gt;".utf8)
      case 0x22: out.append(contentsOf: "&quot;".utf8)
      default: out.append(b)
      }
    }
  }

  /// Decodes numeric and HTML named character references.
  static func decodeEntities(_ bytes: [UInt8]) -> String {
    guard bytes.contains(0x26) else { return String(decoding: bytes, as: UTF8.self) }
    return decodeEntities(String(decoding: bytes, as: UTF8.self))
  }

  public static func decodeEntities(_ s: String) -> String {
    guard s.utf8.contains(0x26) else { return s }
    var out = String.UnicodeScalarView()
    let scalars = Array(s.unicodeScalars)
    var i = 0
    while i < scalars.count {
      let c = scalars[i]
      if c == "&" {
        var k = i + 1
        var name = ""
        while k < scalars.count, k - i < 34, scalars[k] != ";", scalars[k] != "&",
          !scalars[k].properties.isWhitespace
        {
          name.unicodeScalars.append(scalars[k])
          k += 1
        }
        if k < scalars.count, scalars[k] == ";", let v = entityValue(name) {
          out.append(v)
          i = k + 1
          continue
        }
      }
      out.append(c)
      i += 1
    }
    return String(out)
  }

  static func entityValue(_ name: String) -> Unicode.Scalar? {
    if name.hasPrefix("#") {
      let body = name.dropFirst()
      let v: UInt32?
      if body.hasPrefix("x") || body.hasPrefix("X") {
        v = UInt32(body.dropFirst(), radix: 16)
      } else {
        v = UInt32(body)
      }
      guard let v else { return nil }
      if v >= 0x80 && v <= 0x9F { return Unicode.Scalar(FeedBytes.cp1252Scalar(UInt8(v))) }
      return Unicode.Scalar(v)
    }
    switch name {
    case "amp": return "&"
    case "lt": return "<"
    case "gt": return ">"
    case "quot": return "\""
    case "apos": return "'"
    default: return HTMLEntities.table[name].flatMap { Unicode.Scalar($0) }
    }
  }

  /// Absolute, and only with a scheme that cannot run code; "" otherwise.
  static func safeURI(_ value: String, base: String?) -> String {
    let v = value.trimmed
    let resolved = FeedURL.resolve(v, base: base)
    if let scheme = FeedURL.scheme(resolved), !safeSchemes.contains(scheme) { return "" }
    return resolved
  }

  // MARK: CSS

  static let acceptableCSSProperties: Set<String> = [
    "azimuth", "background-color", "border-bottom-color", "border-collapse", "border-color",
    "border-left-color", "border-right-color", "border-top-color", "clear", "color", "cursor",
    "direction", "display", "elevation", "float", "font", "font-family", "font-size", "font-style",
    "font-variant", "font-weight", "height", "letter-spacing", "line-height", "overflow", "pause",
    "pause-after", "pause-before", "pitch", "pitch-range", "richness", "speak", "speak-header",
    "speak-numeral", "speak-punctuation", "speech-rate", "stress", "text-align", "text-decoration",
    "text-indent", "unicode-bidi", "vertical-align", "voice-family", "volume", "white-space",
    "width",
  ]

  static let acceptableCSSKeywords: Set<String> = [
    "auto", "aqua", "black", "block", "blue", "bold", "both", "bottom", "brown", "center",
    "collapse", "dashed", "dotted", "fuchsia", "gray", "green", "!important", "italic", "left",
    "lime", "maroon", "medium", "none", "navy", "normal", "nowrap", "olive", "pointer", "purple",
    "red", "right", "solid", "silver", "teal", "top", "transparent", "underline", "white",
    "yellow",
  ]

  /// Keeps `property: value;` pairs of a safe subset; anything odd drops the whole style.
  static func sanitizeStyle(_ style: String) -> String {
    // url(...) never survives.
    var s = style
    while let r = s.range(of: "url", options: .caseInsensitive) {
      var k = r.upperBound
      while k < s.endIndex, s[k] == " " { k = s.index(after: k) }
      guard k < s.endIndex, s[k] == "(" else { break }
      guard let close = s[k...].firstIndex(of: ")") else { break }
      s.replaceSubrange(r.lowerBound...close, with: " ")
    }
    // Only harmless characters.
    for ch in s.unicodeScalars {
      let ok =
        (ch.value < 0x80
          && (ch.properties.isAlphabetic || ("0"..."9").contains(ch)
            || ":,;#%. \t\n\r!-_'\"()".unicodeScalars.contains(ch)))
      if !ok { return "" }
    }
    var out: [String] = []
    for decl in s.split(separator: ";") {
      let parts = decl.split(separator: ":", maxSplits: 1)
      guard parts.count == 2 else {
        if decl.trimmed.isEmpty { continue }
        return ""
      }
      let written = parts[0].trimmed
      let prop = written.lowercased()
      let value = parts[1].trimmed
      if value.contains(":") { return "" }
      guard !value.isEmpty else { continue }
      if acceptableCSSProperties.contains(prop) {
        out.append("\(written): \(value);")
      } else if let head = prop.split(separator: "-").first,
        ["background", "border", "margin", "padding"].contains(head)
      {
        var ok = true
        for word in value.split(whereSeparator: { $0 == " " || $0 == "\t" }) {
          let w = word.lowercased()
          if !acceptableCSSKeywords.contains(w) && !isCSSValue(w) {
            ok = false
            break
          }
        }
        if ok { out.append("\(written): \(value);") }
      }
    }
    return out.joined(separator: " ")
  }

  /// A color (#hex, rgb(...)) or a small length.
  static func isCSSValue(_ w: String) -> Bool {
    if w.hasPrefix("#") {
      return w.count > 1 && w.dropFirst().allSatisfy { $0.isHexDigit }
    }
    if w.hasPrefix("rgb(") { return true }
    var rest = Substring(w)
    var intDigits = 0
    while let c = rest.first, c.isASCII, c.isNumber, intDigits < 3 {
      intDigits += 1
      rest = rest.dropFirst()
    }
    if intDigits > 2 { return false }
    if rest.first == "." {
      rest = rest.dropFirst()
      var n = 0
      while let c = rest.first, c.isASCII, c.isNumber, n < 3 {
        n += 1
        rest = rest.dropFirst()
      }
      if n > 2 { return false }
    }
    return ["", "cm", "em", "ex", "in", "mm", "pc", "pt", "px", "%", ",", ")"].contains(
      String(rest))
  }
}

/// URL helpers: RFC 3986 resolution (libxml2's) and scheme checks.
enum FeedURL {
  /// The scheme (lowercased) of an absolute URI: an ASCII letter, then letters, digits,
  /// '+', '-' or '.', up to ':'. nil for anything else.
  static func scheme(_ s: String) -> String? {
    var bytes: [UInt8] = []
    for c in s.utf8 {
      if c == 0x3A { return bytes.isEmpty ? nil : String(decoding: bytes, as: UTF8.self) }
      let letter = (c | 0x20) >= 0x61 && (c | 0x20) <= 0x7A
      let ok =
        letter
        || (!bytes.isEmpty && ((c >= 0x30 && c <= 0x39) || c == 0x2B || c == 0x2D || c == 0x2E))
      if !ok { return nil }
      bytes.append(letter ? c | 0x20 : c)
    }
    return nil
  }

  static func resolve(_ ref: String, base: String?) -> String {
    guard let base, !base.isEmpty else { return ref }
    if scheme(ref) != nil { return ref }
    return resolveRFC3986(ref, base: base) ?? ref
  }

  struct Parts {
    var scheme: Substring?
    var authority: Substring?
    var path: Substring
    var query: Substring?
    var fragment: Substring?
  }

  static func split(_ s: String) -> Parts {
    var rest = Substring(s)
    var p = Parts(path: "")
    if let sc = scheme(s) {
      p.scheme = rest.prefix(sc.count)
      rest = rest.dropFirst(sc.count + 1)
    }
    if let hash = rest.firstIndex(of: "#") {
      p.fragment = rest[rest.index(after: hash)...]
      rest = rest[..<hash]
    }
    if let q = rest.firstIndex(of: "?") {
      p.query = rest[rest.index(after: q)...]
      rest = rest[..<q]
    }
    if rest.hasPrefix("//") {
      rest = rest.dropFirst(2)
      let end = rest.firstIndex(of: "/") ?? rest.endIndex
      p.authority = rest[..<end]
      rest = rest[end...]
    }
    p.path = rest
    return p
  }

  static func removeDotSegments(_ path: String) -> String {
    guard path.contains(".") else { return path }
    var out: [Substring] = []
    let segs = path.split(separator: "/", omittingEmptySubsequences: false)
    for (i, seg) in segs.enumerated() {
      let last = i == segs.count - 1
      if seg == "." {
        if last { out.append("") }
      } else if seg == ".." {
        if out.count > 1 || (out.count == 1 && out[0] != "") { out.removeLast() }
        if last { out.append("") }
      } else {
        out.append(seg)
      }
    }
    var r = out.joined(separator: "/")
    if path.hasPrefix("/") && !r.hasPrefix("/") { r = "/" + r }
    return r
  }

  /// RFC 3986 section 5.2 (no normalization beyond dot segments; Unicode kept).
  static func resolveRFC3986(_ ref: String, base: String) -> String? {
    let b = split(base)
    guard let bs = b.scheme else { return nil }
    let r = split(ref)
    var t = Parts(path: "")
    if r.authority != nil {
      t.authority = r.authority
      t.path = Substring(removeDotSegments(String(r.path)))
      t.query = r.query
    } else if r.path.isEmpty {
      t.path = b.path
      t.query = r.query ?? b.query
      t.authority = b.authority
    } else {
      if r.path.hasPrefix("/") {
        t.path = Substring(removeDotSegments(String(r.path)))
      } else {
        var merged: String
        if b.authority != nil && b.path.isEmpty {
          merged = "/" + r.path
        } else if let slash = b.path.lastIndex(of: "/") {
          merged = String(b.path[...slash]) + r.path
        } else {
          merged = String(r.path)
        }
        merged = removeDotSegments(merged)
        t.path = Substring(merged)
      }
      t.query = r.query
      t.authority = b.authority
    }
    var out = String(bs) + ":"
    if let a = t.authority { out += "//" + a }
    out += t.path
    if let q = t.query { out += "?" + q }
    if let f = r.fragment { out += "#" + f }
    return out
  }
}
