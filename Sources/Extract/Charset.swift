/// Chooses the character encoding of an HTML page, in the order browsers use
/// (WHATWG "encoding sniffing", simplified):
///
/// 1. a byte order mark (UTF-8, UTF-16LE, UTF-16BE);
/// 2. the `charset` parameter of the HTTP `Content-Type`;
/// 3. `<meta charset>` or `<meta http-equiv="Content-Type" content="...; charset=...">`
///    in the first 64 KiB;
/// 4. undeclared: UTF-8 when the bytes are valid UTF-8, else windows-1252.
///
/// Labels are normalized the WHATWG way where it matters: `iso-8859-1`, `latin1` and
/// `us-ascii` mean windows-1252; `utf8` and `unicode-1-1-utf-8` mean UTF-8; a declared
/// UTF-16 in a `<meta>` (which cannot be true for ASCII-compatible bytes) means UTF-8.
public enum Charset {
  public struct Choice: Equatable, Sendable {
    public var encoding: String
    /// Bytes to skip at the start (a BOM).
    public var skip: Int
  }

  public static func detect(_ bytes: [UInt8], contentType: String?) -> Choice {
    if bytes.count >= 3 && bytes[0] == 0xEF && bytes[1] == 0xBB && bytes[2] == 0xBF {
      return Choice(encoding: "UTF-8", skip: 3)
    }
    if bytes.count >= 2 && bytes[0] == 0xFF && bytes[1] == 0xFE {
      return Choice(encoding: "UTF-16LE", skip: 2)
    }
    if bytes.count >= 2 && bytes[0] == 0xFE && bytes[1] == 0xFF {
      return Choice(encoding: "UTF-16BE", skip: 2)
    }
    if let contentType, let label = charsetParameter(contentType),
      let e = normalize(label, fromMeta: false)
    {
      return Choice(encoding: e, skip: 0)
    }
    if let label = metaCharset(bytes), let e = normalize(label, fromMeta: true) {
      // Pages re-saved as UTF-8 often keep their old declaration; bytes that are valid
      // UTF-8 and hold multi-byte sequences are UTF-8 whatever the <meta> says (the odds
      // of legacy text forming valid UTF-8 by chance are tiny).
      if e != "UTF-8" && hasMultibyteUTF8(bytes) && isValidUTF8(bytes) {
        return Choice(encoding: "UTF-8", skip: 0)
      }
      return Choice(encoding: e, skip: 0)
    }
    return Choice(encoding: isValidUTF8(bytes) ? "UTF-8" : "windows-1252", skip: 0)
  }

  /// The value of `charset=` in a Content-Type-like string.
  static func charsetParameter(_ s: String) -> String? {
    let lower = Array(s.lowercased().utf8)
    let key = Array("charset".utf8)
    var i = 0
    while i + key.count <= lower.count {
      if Array(lower[i..<i + key.count]) == key {
        var j = i + key.count
        while j < lower.count && (lower[j] == 0x20 || lower[j] == 0x09) { j += 1 }
        if j < lower.count && lower[j] == UInt8(ascii: "=") {
          j += 1
          while j < lower.count && (lower[j] == 0x20 || lower[j] == 0x09) { j += 1 }
          var quote: UInt8? = nil
          if j < lower.count && (lower[j] == 0x22 || lower[j] == 0x27) {
            quote = lower[j]
            j += 1
          }
          var end = j
          while end < lower.count {
            let c = lower[end]
            if let q = quote {
              if c == q { break }
            } else if c == 0x3B || c == 0x20 || c == 0x09 || c == 0x22 || c == 0x27 {
              break
            }
            end += 1
          }
          if end > j { return String(decoding: lower[j..<end], as: UTF8.self) }
        }
      }
      i += 1
    }
    return nil
  }

  /// Scans the first 64 KiB for a `<meta>` that declares a charset. Not only the first
  /// kilobytes browsers prescan: they also switch when the parser meets a later <meta>,
  /// and pages put tens of kilobytes of script before theirs.
  static func metaCharset(_ bytes: [UInt8]) -> String? {
    let limit = min(bytes.count, 65536)
    var i = 0
    while i + 5 < limit {
      // Skip comments so a commented-out meta does not count.
      if bytes[i] == UInt8(ascii: "<") && i + 3 < limit && bytes[i + 1] == UInt8(ascii: "!")
        && bytes[i + 2] == UInt8(ascii: "-") && bytes[i + 3] == UInt8(ascii: "-")
      {
        var j = i + 4
        while j + 2 < limit
          && !(bytes[j] == UInt8(ascii: "-") && bytes[j + 1] == UInt8(ascii: "-")
            && bytes[j + 2] == UInt8(ascii: ">"))
        {
          j += 1
        }
        i = j + 3
        continue
      }
      if bytes[i] == UInt8(ascii: "<") && lowerASCII(bytes[i + 1]) == UInt8(ascii: "m")
        && lowerASCII(bytes[i + 2]) == UInt8(ascii: "e")
        && lowerASCII(bytes[i + 3]) == UInt8(ascii: "t")
        && lowerASCII(bytes[i + 4]) == UInt8(ascii: "a")
      {
        var j = i + 5
        while j < limit && bytes[j] != UInt8(ascii: ">") { j += 1 }
        let tag = String(decoding: bytes[(i + 5)..<j], as: UTF8.self)
        let lower = tag.lowercased()
        if lower.contains("charset") {
          // <meta charset=x> and <meta http-equiv content="text/html; charset=x"> both
          // carry "charset" followed by "=": one parser serves both.
          if let label = charsetParameter(lower) { return label }
        }
        i = j
        continue
      }
      i += 1
    }
    return nil
  }

  static func normalize(_ label: String, fromMeta: Bool) -> String? {
    let l = label.trimmingSpaces().lowercased()
    switch l {
    case "": return nil
    case "utf-8", "utf8", "unicode-1-1-utf-8", "x-unicode20utf8": return "UTF-8"
    case "iso-8859-1", "iso8859-1", "latin1", "l1", "us-ascii", "ascii", "windows-1252",
      "cp1252", "x-cp1252", "iso_8859-1", "cp819", "ibm819", "iso-ir-100", "csisolatin1":
      return "windows-1252"
    case "utf-16", "utf-16le", "utf-16be", "unicode", "ucs-2":
      return fromMeta ? "UTF-8" : l.uppercased()
    case "x-sjis", "shift-jis", "ms_kanji", "windows-31j": return "Shift_JIS"
    case "gb2312", "gbk", "x-gbk", "gb_2312-80": return "GBK"
    case "x-user-defined": return "windows-1252"
    default:
      // Only names made of safe characters reach the parser.
      guard l.utf8.count < 40,
        l.utf8.allSatisfy({
          ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2D || $0 == 0x5F
            || $0 == 0x2E || $0 == 0x3A
        })
      else { return nil }
      return l
    }
  }

  static func hasMultibyteUTF8(_ bytes: [UInt8]) -> Bool {
    var count = 0
    for b in bytes where b >= 0xC2 && b <= 0xF4 {
      count += 1
      if count >= 4 { return true }
    }
    return false
  }

  static func isValidUTF8(_ bytes: [UInt8]) -> Bool {
    var i = 0
    let n = bytes.count
    while i < n {
      let b = bytes[i]
      if b < 0x80 {
        i += 1
        continue
      }
      let need: Int
      if b >= 0xC2 && b <= 0xDF {
        need = 1
      } else if b >= 0xE0 && b <= 0xEF {
        need = 2
      } else if b >= 0xF0 && b <= 0xF4 {
        need = 3
      } else {
        return false
      }
      // A sequence cut off by the end of a truncated page still counts as UTF-8.
      if i + need >= n { return true }
      for k in 1...need where bytes[i + k] & 0xC0 != 0x80 { return false }
      if b == 0xE0 && bytes[i + 1] < 0xA0 { return false }
      if b == 0xED && bytes[i + 1] >= 0xA0 { return false }
      if b == 0xF0 && bytes[i + 1] < 0x90 { return false }
      if b == 0xF4 && bytes[i + 1] >= 0x90 { return false }
      i += need + 1
    }
    return true
  }

  @inline(__always)
  static func lowerASCII(_ b: UInt8) -> UInt8 { (b >= 0x41 && b <= 0x5A) ? b + 32 : b }
}

extension String {
  func trimmingSpaces() -> String {
    let scalars = unicodeScalars
    var start = scalars.startIndex
    var end = scalars.endIndex
    while start < end && isSpace(scalars[start]) { start = scalars.index(after: start) }
    while end > start && isSpace(scalars[scalars.index(before: end)]) {
      end = scalars.index(before: end)
    }
    return String(scalars[start..<end])
  }
}
