import XML

/// Turns the bytes as served into bytes libxml2 can parse strictly, recording every
/// repair (a repair makes the feed "bozo"):
///
/// 1. Encoding (RFC 7303 order): byte order mark, then the HTTP charset, then the XML
///    declaration, then UTF-8. UTF-16/32 and the Latin-1 family are converted to UTF-8
///    here (Latin-1 and US-ASCII are read as windows-1252, which they always mean in
///    practice); invalid UTF-8 is repaired byte by byte; other encodings are left to
///    libxml2.
/// 2. Well-formedness: HTML named entities the document does not declare become
///    numeric references, stray `&` become `&amp;`, control characters are dropped.
struct FeedBytes {
  var bytes: [UInt8]
  /// The encoding to tell libxml2 (overrides the declaration), nil to let it read it.
  var encoding: String?
  var bozo = false
  var bozoReason: String?

  // MARK: Encoding

  static func charset(fromContentType ct: String?) -> String? {
    guard let ct else { return nil }
    for param in ct.split(separator: ";").dropFirst() {
      let kv = param.split(separator: "=", maxSplits: 1)
      guard kv.count == 2,
        kv[0].trimmed.lowercased() == "charset"
      else { continue }
      var v = kv[1].trimmed
      if v.hasPrefix("\"") || v.hasPrefix("'") { v = String(v.dropFirst()) }
      if v.hasSuffix("\"") || v.hasSuffix("'") { v = String(v.dropLast()) }
      return v.isEmpty ? nil : v.lowercased()
    }
    return nil
  }

  enum Family { case utf8, utf16le, utf16be, utf32le, utf32be, windows1252, other(String) }

  static func family(_ name: String) -> Family {
    let n = name.lowercased().replacingOccurrences(of: "_", with: "-")
    switch n {
    case "utf-8", "utf8", "unicode-1-1-utf-8": return .utf8
    case "utf-16le": return .utf16le
    case "utf-16be": return .utf16be
    case "utf-32le": return .utf32le
    case "utf-32be": return .utf32be
    case "us-ascii", "ascii", "iso-8859-1", "iso8859-1", "latin1", "latin-1", "l1", "iso-ir-100",
      "windows-1252", "cp1252", "x-cp1252", "cp819", "ibm819", "iso-8859-1:1987", "ansi-x3.4-1968":
      return .windows1252
    default: return .other(n)
    }
  }

  /// The byte order mark at the start of `b` and its length, if any.
  static func byteOrderMark(_ b: ArraySlice<UInt8>) -> (Family, Int)? {
    if b.starts(with: [0xEF, 0xBB, 0xBF]) { return (.utf8, 3) }
    if b.starts(with: [0x00, 0x00, 0xFE, 0xFF]) { return (.utf32be, 4) }
    if b.starts(with: [0xFF, 0xFE, 0x00, 0x00]) { return (.utf32le, 4) }
    if b.starts(with: [0xFE, 0xFF]) { return (.utf16be, 2) }
    if b.starts(with: [0xFF, 0xFE]) { return (.utf16le, 2) }
    return nil
  }

  /// Whether `b` starts (after ASCII white space) with an ASCII `<` that is not half of a
  /// UTF-16/32 code unit: markup an ASCII-compatible encoding can read.
  static func startsWithASCIIMarkup(_ b: ArraySlice<UInt8>) -> Bool {
    guard
      let i = b.prefix(1024).firstIndex(where: {
        $0 != 0x20 && $0 != 0x09 && $0 != 0x0A && $0 != 0x0D
      })
    else { return false }
    return b[i] == 0x3C && (i + 1 == b.endIndex || b[i + 1] != 0)
  }

  static func isWide(_ f: Family) -> Bool {
    switch f {
    case .utf16le, .utf16be, .utf32le, .utf32be: return true
    default: return false
    }
  }

  static func decode(_ input: [UInt8], contentType: String?) -> FeedBytes {
    var body = input[...]
    var fam: Family?
    // 1. Byte order marks. Servers and editors that prepend a BOM without looking stack
    // them (UTF-8 BOMs three deep, a UTF-8 BOM before a UTF-16 one): the whole run goes.
    // The marks are believed only where the bytes after them agree: markup in UTF-16/32
    // is read as such, ASCII markup after a UTF-8 BOM as UTF-8, and ASCII markup after
    // wide BOMs alone falls through to the header and the declaration.
    var marks: [Family] = []
    while marks.count < 64, let (f, length) = byteOrderMark(body) {
      marks.append(f)
      body = body.dropFirst(length)
    }
    if let last = marks.last {
      if let wide = sniffWide(body) {
        fam = wide
      } else if startsWithASCIIMarkup(body) {
        if marks.contains(where: { if case .utf8 = $0 { true } else { false } }) { fam = .utf8 }
      } else {
        fam = last
      }
    }
    // 2. HTTP charset, 3. sniffed UTF-16/32 and the XML declaration.
    if fam == nil, let cs = charset(fromContentType: contentType) {
      var f: Family? = family(cs)
      if cs == "utf-16" || cs == "ucs-2" || cs == "utf-32" || cs == "ucs-4" {
        f = sniffWide(body) ?? (cs.hasSuffix("32") || cs == "ucs-4" ? .utf32be : .utf16be)
      }
      if case .other(let n) = f, !XMLDocument.supportsEncoding(n) { f = .utf8 }
      // A UTF-16/32 charset on a body whose first bytes are ASCII markup (no BOM, no
      // zero bytes beside the '<') cannot be right: reading it so would turn the whole
      // document into one line of CJK. The document's own declaration decides instead.
      if let g = f, isWide(g), sniffWide(body) == nil, startsWithASCIIMarkup(body) { f = nil }
      fam = f
    }
    if fam == nil, let wide = sniffWide(body) { fam = wide }
    if fam == nil, let declared = XMLDocument.declaredEncoding(body)?.lowercased() {
      var f = family(declared)
      if case .other(let n) = f {
        if n == "utf-16" || n == "utf-32" || n == "ucs-2" || n == "ucs-4" {
          f = .utf8  // declared wide but the bytes are not: believe the bytes
        } else if !XMLDocument.supportsEncoding(n) {
          f = .utf8
        }
      }
      fam = f
    }
    var out = FeedBytes(bytes: [], encoding: "UTF-8")
    switch fam ?? .utf8 {
    case .utf8:
      let (fixed, repaired) = repairUTF8(body)
      if let fixed {
        out.bytes = fixed
      } else {
        // Already valid: no copy unless a BOM has to go.
        out.bytes = body.count == input.count ? input : Array(body)
      }
      if repaired {
        out.bozo = true
        out.bozoReason = "invalid UTF-8 repaired"
      }
    case .utf16le: out.bytes = transcode16(body, littleEndian: true)
    case .utf16be: out.bytes = transcode16(body, littleEndian: false)
    case .utf32le: out.bytes = transcode32(body, littleEndian: true)
    case .utf32be: out.bytes = transcode32(body, littleEndian: false)
    case .windows1252: out.bytes = windows1252ToUTF8(body)
    case .other(let name):
      out.bytes = Array(body)
      out.encoding = name
    }
    return out
  }

  static func sniffWide(_ b: ArraySlice<UInt8>) -> Family? {
    guard b.count >= 4 else { return nil }
    let s = b.startIndex
    let (b0, b1, b2, b3) = (b[s], b[s + 1], b[s + 2], b[s + 3])
    if b0 == 0 && b1 == 0 && b2 == 0 && b3 == 0x3C { return .utf32be }
    if b0 == 0x3C && b1 == 0 && b2 == 0 && b3 == 0 { return .utf32le }
    if b0 == 0 && b1 == 0x3C { return .utf16be }
    if b0 == 0x3C && b1 == 0 { return .utf16le }
    return nil
  }

  static func transcode16(_ b: ArraySlice<UInt8>, littleEndian: Bool) -> [UInt8] {
    var units: [UInt16] = []
    units.reserveCapacity(b.count / 2)
    var i = b.startIndex
    while i + 1 < b.endIndex {
      let u =
        littleEndian
        ? UInt16(b[i]) | UInt16(b[i + 1]) << 8 : UInt16(b[i]) << 8 | UInt16(b[i + 1])
      units.append(u)
      i += 2
    }
    return Array(String(decoding: units, as: UTF16.self).utf8)
  }

  static func transcode32(_ b: ArraySlice<UInt8>, littleEndian: Bool) -> [UInt8] {
    var s = String.UnicodeScalarView()
    var i = b.startIndex
    while i + 3 < b.endIndex {
      let v =
        littleEndian
        ? UInt32(b[i]) | UInt32(b[i + 1]) << 8 | UInt32(b[i + 2]) << 16 | UInt32(b[i + 3]) << 24
        : UInt32(b[i]) << 24 | UInt32(b[i + 1]) << 16 | UInt32(b[i + 2]) << 8 | UInt32(b[i + 3])
      s.append(Unicode.Scalar(v) ?? "\u{FFFD}")
      i += 4
    }
    return Array(String(s).utf8)
  }

  /// windows-1252's 0x80-0x9F (0 = undefined, kept as the C1 control).
  static let cp1252High: [UInt32] = [
    0x20AC, 0, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160, 0x2039,
    0x0152, 0, 0x017D, 0, 0, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014, 0x02DC,
    0x2122, 0x0161, 0x203A, 0x0153, 0, 0x017E, 0x0178,
  ]

  static func cp1252Scalar(_ byte: UInt8) -> UInt32 {
    if byte >= 0x80 && byte <= 0x9F {
      let v = cp1252High[Int(byte - 0x80)]
      return v == 0 ? UInt32(byte) : v
    }
    return UInt32(byte)
  }

  static func appendUTF8(_ v: UInt32, to out: inout [UInt8]) {
    if v < 0x80 {
      out.append(UInt8(v))
    } else if v < 0x800 {
      out.append(UInt8(0xC0 | (v >> 6)))
      out.append(UInt8(0x80 | (v & 0x3F)))
    } else if v < 0x10000 {
      out.append(UInt8(0xE0 | (v >> 12)))
      out.append(UInt8(0x80 | ((v >> 6) & 0x3F)))
      out.append(UInt8(0x80 | (v & 0x3F)))
    } else {
      out.append(UInt8(0xF0 | (v >> 18)))
      out.append(UInt8(0x80 | ((v >> 12) & 0x3F)))
      out.append(UInt8(0x80 | ((v >> 6) & 0x3F)))
      out.append(UInt8(0x80 | (v & 0x3F)))
    }
  }

  static func windows1252ToUTF8(_ b: ArraySlice<UInt8>) -> [UInt8] {
    var out: [UInt8] = []
    out.reserveCapacity(b.count + b.count / 8)
    for byte in b { appendUTF8(cp1252Scalar(byte), to: &out) }
    return out
  }

  /// Length of the valid UTF-8 sequence at `i`, or 0 when invalid.
  @inline(__always)
  static func utf8SequenceLength(_ p: UnsafeBufferPointer<UInt8>, _ i: Int) -> Int {
    let c = p[i]
    let n = p.count
    func cont(_ k: Int) -> Bool { k < n && p[k] & 0xC0 == 0x80 }
    switch c {
    case 0xC2...0xDF: return cont(i + 1) ? 2 : 0
    case 0xE0:
      return i + 1 < n && p[i + 1] >= 0xA0 && p[i + 1] <= 0xBF && cont(i + 2) ? 3 : 0
    case 0xE1...0xEC, 0xEE...0xEF: return cont(i + 1) && cont(i + 2) ? 3 : 0
    case 0xED:
      return i + 1 < n && p[i + 1] >= 0x80 && p[i + 1] <= 0x9F && cont(i + 2) ? 3 : 0
    case 0xF0:
      return i + 1 < n && p[i + 1] >= 0x90 && p[i + 1] <= 0xBF && cont(i + 2) && cont(i + 3)
        ? 4 : 0
    case 0xF1...0xF3: return cont(i + 1) && cont(i + 2) && cont(i + 3) ? 4 : 0
    case 0xF4:
      return i + 1 < n && p[i + 1] >= 0x80 && p[i + 1] <= 0x8F && cont(i + 2) && cont(i + 3)
        ? 4 : 0
    default: return 0
    }
  }

  /// Valid UTF-8 stays as it is (no copy beyond the array); each byte that starts no
  /// valid sequence is read as windows-1252, the usual cause of such bytes.
  static func repairUTF8(_ body: ArraySlice<UInt8>) -> ([UInt8]?, Bool) {
    return body.withUnsafeBufferPointer { p -> ([UInt8]?, Bool) in
      var i = 0
      let n = p.count
      // Fast scan: eight ASCII bytes at a time, sequence by sequence elsewhere.
      guard let base = p.baseAddress else { return (nil, false) }
      let raw = UnsafeRawPointer(base)
      while i < n {
        if i + 8 <= n,
          raw.loadUnaligned(fromByteOffset: i, as: UInt64.self) & 0x8080_8080_8080_8080 == 0
        {
          i += 8
          continue
        }
        if p[i] < 0x80 {
          i += 1
          continue
        }
        let l = utf8SequenceLength(p, i)
        if l == 0 { break }
        i += l
      }
      if i == n { return (nil, false) }
      var out: [UInt8] = []
      out.reserveCapacity(n + 64)
      out.append(contentsOf: p[0..<i])
      while i < n {
        if p[i] < 0x80 {
          out.append(p[i])
          i += 1
          continue
        }
        let l = utf8SequenceLength(p, i)
        if l == 0 {
          appendUTF8(cp1252Scalar(p[i]), to: &out)
          i += 1
        } else {
          out.append(contentsOf: p[i..<i + l])
          i += l
        }
      }
      return (out, true)
    }
  }

  // MARK: Well-formedness repairs

  /// Whether the prolog (before the root element) holds a `<!DOCTYPE`.
  static func hasDoctype(_ bytes: [UInt8]) -> Bool {
    bytes.withUnsafeBufferPointer { p in
      let n = p.count
      var i = 0
      while i < n {
        guard let lt = p[i..<n].firstIndex(of: 0x3C) else { return false }
        if lt + 1 < n, p[lt + 1] == 0x3F {  // <? ... ?>
          i = skip(to: [0x3F, 0x3E], p, from: lt + 2)
        } else if lt + 3 < n, p[lt + 1] == 0x21, p[lt + 2] == 0x2D, p[lt + 3] == 0x2D {
          i = skip(to: [0x2D, 0x2D, 0x3E], p, from: lt + 4)
        } else {
          // "<!DOCTYPE" (any case: a lowercase one is an error libxml2 reports anyway).
          let word = Array("doctype".utf8)
          guard lt + 2 + word.count <= n, p[lt + 1] == 0x21 else { return false }
          for k in 0..<word.count where p[lt + 2 + k] | 0x20 != word[k] { return false }
          return true
        }
      }
      return false
    }
  }

  /// `p[s..<e]` is one of XML's five predefined entity names (compared as bytes).
  @inline(__always) static func isPredefinedEntity(
    _ p: UnsafeBufferPointer<UInt8>, _ s: Int, _ e: Int
  ) -> Bool {
    switch e - s {
    case 2: return (p[s] == 0x6C || p[s] == 0x67) && p[s + 1] == 0x74  // lt gt
    case 3: return p[s] == 0x61 && p[s + 1] == 0x6D && p[s + 2] == 0x70  // amp
    case 4:
      return (p[s] == 0x71 && p[s + 1] == 0x75 && p[s + 2] == 0x6F && p[s + 3] == 0x74)  // quot
        || (p[s] == 0x61 && p[s + 1] == 0x70 && p[s + 2] == 0x6F && p[s + 3] == 0x73)  // apos
    default: return false
    }
  }

  /// Whether any of eight bytes may be '<', '&' or below 0x20 (exact: false means none is).
  @inline(__always) static func mayHoldSpecial(_ w: UInt64) -> Bool {
    let ones: UInt64 = 0x0101_0101_0101_0101
    let highs: UInt64 = 0x8080_8080_8080_8080
    let below20 = (w &- ones &* 0x20) & ~w & highs
    let lt = w ^ (ones &* 0x3C)
    let amp = w ^ (ones &* 0x26)
    return (below20 | ((lt &- ones) & ~lt & highs) | ((amp &- ones) & ~amp & highs)) != 0
  }

  /// Bytes the well-formedness pass steps over: all but '<', '&' and the C0 controls
  /// other than tab, line feed and carriage return.
  static let ordinary: [Bool] = (0..<256).map { b in
    b != 0x3C && b != 0x26 && (b >= 0x20 || b == 0x09 || b == 0x0A || b == 0x0D)
  }

  /// Entities declared in the internal DTD subset.
  static func declaredEntities(_ p: UnsafeBufferPointer<UInt8>) -> Set<String> {
    var names = Set<String>()
    let marker = Array("<!ENTITY".utf8)
    let limit = min(p.count, 1 << 20)
    var i = 0
    // Only look before the first element that is not the DOCTYPE.
    guard let dt = find(Array("<!DOCTYPE".utf8), in: p, from: 0, limit: min(limit, 4096))
    else { return names }
    i = dt
    while let e = find(marker, in: p, from: i, limit: limit) {
      var k = e + marker.count
      while k < p.count, p[k] == 0x20 || p[k] == 0x09 || p[k] == 0x0A || p[k] == 0x0D { k += 1 }
      if k < p.count, p[k] == 0x25 {  // parameter entity
        i = k
        continue
      }
      let s = k
      while k < p.count, isNameByte(p[k]) { k += 1 }
      if k > s { names.insert(String(decoding: p[s..<k], as: UTF8.self)) }
      i = k
    }
    return names
  }

  static func find(
    _ needle: [UInt8], in p: UnsafeBufferPointer<UInt8>, from: Int, limit: Int
  ) -> Int? {
    guard let first = needle.first, needle.count <= limit else { return nil }
    var i = from
    let end = limit - needle.count
    while i <= end {
      if p[i] == first {
        var k = 1
        while k < needle.count, p[i + k] == needle[k] { k += 1 }
        if k == needle.count { return i }
      }
      i += 1
    }
    return nil
  }

  @inline(__always)
  static func isNameByte(_ c: UInt8) -> Bool {
    (c >= 0x61 && c <= 0x7A) || (c >= 0x41 && c <= 0x5A) || (c >= 0x30 && c <= 0x39) || c == 0x5F
      || c == 0x2D || c == 0x2E || c == 0x3A || c >= 0x80
  }

  @inline(__always)
  static func isBadControl(_ c: UInt8) -> Bool {
    c < 0x20 && c != 0x09 && c != 0x0A && c != 0x0D
  }

  /// One pass over the bytes; copies only when something has to change.
  mutating func fixWellFormedness() {
    var changedEntities = false
    var changedAmps = false
    var changedControls = false
    let fixed: [UInt8]? = bytes.withUnsafeBufferPointer { p -> [UInt8]? in
      let n = p.count
      var out: [UInt8] = []
      var copying = false
      var copiedUpTo = 0
      var declared: Set<String>?
      let ordinary = Self.ordinary
      guard let base = p.baseAddress else { return nil }
      let raw = UnsafeRawPointer(base)
      func begin(_ at: Int) {
        if !copying {
          copying = true
          out.reserveCapacity(n + 256)
        }
        out.append(contentsOf: p[copiedUpTo..<at])
      }
      var i = 0
      while i < n {
        // Fast path over ordinary bytes: everything but '<', '&' and control characters.
        while i < n {
          if i + 8 <= n, !Self.mayHoldSpecial(raw.loadUnaligned(fromByteOffset: i, as: UInt64.self))
          {
            i += 8
          } else if ordinary[Int(p[i])] {
            i += 1
          } else {
            break
          }
        }
        if i >= n { break }
        let c = p[i]
        if c == 0x3C {  // '<': skip comments, CDATA, PIs and the DOCTYPE verbatim
          if i + 3 < n, p[i + 1] == 0x21, p[i + 2] == 0x2D, p[i + 3] == 0x2D {
            i = Self.skip(to: [0x2D, 0x2D, 0x3E], p, from: i + 4)
            continue
          }
          if i + 8 < n, p[i + 1] == 0x21, p[i + 2] == 0x5B, p[i + 3] == 0x43 {  // <![C
            let end = Self.skip(to: [0x5D, 0x5D, 0x3E], p, from: i + 9)
            // Control characters inside CDATA are as fatal as elsewhere.
            var k = i
            while k < end {
              if Self.isBadControl(p[k]) {
                begin(k)
                copiedUpTo = k + 1
                changedControls = true
              }
              k += 1
            }
            i = end
            continue
          }
          if i + 1 < n, p[i + 1] == 0x3F {
            i = Self.skip(to: [0x3F, 0x3E], p, from: i + 2)
            continue
          }
          if i + 1 < n, p[i + 1] == 0x21, i + 2 < n, p[i + 2] == 0x44 {  // <!D(OCTYPE)
            var k = i + 2
            var depth = 0
            while k < n {
              if p[k] == 0x5B {
                depth += 1
              } else if p[k] == 0x5D {
                depth -= 1
              } else if p[k] == 0x3E && depth <= 0 {
                break
              }
              k += 1
            }
            i = min(k + 1, n)
            continue
          }
          i += 1
          continue
        }
        if c == 0x26 {  // '&'
          var k = i + 1
          if k < n, p[k] == 0x23 {  // numeric reference
            k += 1
            var hex = false
            if k < n, p[k] == 0x78 || p[k] == 0x58 {
              hex = true
              k += 1
            }
            let s = k
            var value: UInt32 = 0
            while k < n, k - s < 8,
              (p[k] >= 0x30 && p[k] <= 0x39)
                || (hex && ((p[k] | 0x20) >= 0x61 && (p[k] | 0x20) <= 0x66))
            {
              let d = p[k] <= 0x39 ? UInt32(p[k] - 0x30) : UInt32((p[k] | 0x20) - 0x61 + 10)
              value = value * (hex ? 16 : 10) + d
              k += 1
            }
            if k > s, k < n, p[k] == 0x3B {
              let ok =
                value == 0x9 || value == 0xA || value == 0xD
                || (value >= 0x20 && value <= 0xD7FF) || (value >= 0xE000 && value <= 0xFFFD)
                || (value >= 0x10000 && value <= 0x10FFFF)
              if !ok {
                begin(i)
                copiedUpTo = k + 1
                changedControls = true
              }
              i = k + 1
              continue
            }
          } else {
            let s = k
            while k < n, k - s < 32, Self.isNameByte(p[k]) { k += 1 }
            if k > s, k < n, p[k] == 0x3B {
              if Self.isPredefinedEntity(p, s, k) {
                i = k + 1
                continue
              }
              let name = String(decoding: p[s..<k], as: UTF8.self)
              if declared == nil { declared = Self.declaredEntities(p) }
              if declared!.contains(name) {
                i = k + 1
                continue
              }
              if let v = HTMLEntities.table[name] {
                begin(i)
                out.append(contentsOf: Array("&#\(v);".utf8))
                copiedUpTo = k + 1
                changedEntities = true
                i = k + 1
                continue
              }
            }
          }
          // A bare or unknown '&': escape it.
          begin(i)
          out.append(contentsOf: [0x26, 0x61, 0x6D, 0x70, 0x3B])
          copiedUpTo = i + 1
          changedAmps = true
          i += 1
          continue
        }
        if Self.isBadControl(c) {
          begin(i)
          copiedUpTo = i + 1
          changedControls = true
        }
        i += 1
      }
      guard copying else { return nil }
      out.append(contentsOf: p[copiedUpTo..<n])
      return out
    }
    if let fixed {
      bytes = fixed
      bozo = true
      if bozoReason == nil {
        bozoReason =
          changedEntities
          ? "undeclared entity" : changedAmps ? "unescaped ampersand" : "control character"
      }
    }
    _ = changedControls
  }

  /// Index just after `terminator` (or the end).
  static func skip(to terminator: [UInt8], _ p: UnsafeBufferPointer<UInt8>, from: Int) -> Int {
    guard let e = find(terminator, in: p, from: from, limit: p.count) else { return p.count }
    return e + terminator.count
  }
}
