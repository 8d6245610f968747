import Articles
import Foundation

/// Hand-written date parsers for the formats feeds use: RFC 822/1123 (with the
/// variants found in the wild), RFC 3339 / W3C-DTF / ISO 8601, and a few other
/// shapes. No DateFormatter: they run once per date field of every item.
///
/// A string that is not a date gives nil, never a guessed date.
public enum FeedDate {
  /// Parses any supported format.
  public static func parse(_ string: String) -> Date? {
    var bytes = Array(string.utf8)
    // Trim ASCII whitespace.
    while let l = bytes.last, l == 0x20 || l == 0x09 || l == 0x0A || l == 0x0D {
      bytes.removeLast()
    }
    var start = 0
    while start < bytes.count,
      bytes[start] == 0x20 || bytes[start] == 0x09 || bytes[start] == 0x0A
        || bytes[start] == 0x0D
    {
      start += 1
    }
    if start > 0 { bytes.removeFirst(start) }
    guard bytes.count >= 4, bytes.count < 128 else { return nil }
    if let d = iso8601(bytes) { return d }
    if let d = rfc822(bytes) { return d }
    return nil
  }

  /// Seconds since the epoch of a UTC civil date and time.
  static func epoch(_ y: Int, _ m: Int, _ d: Int, _ hh: Int, _ mm: Int, _ ss: Int) -> Int {
    // Days from civil (Howard Hinnant's algorithm).
    let yy = m <= 2 ? y - 1 : y
    let era = (yy >= 0 ? yy : yy - 399) / 400
    let yoe = yy - era * 400
    let mp = (m + 9) % 12
    let doy = (153 * mp + 2) / 5 + d - 1
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
    let days = era * 146097 + doe - 719468
    return days * 86400 + hh * 3600 + mm * 60 + ss
  }

  static func daysIn(_ y: Int, _ m: Int) -> Int {
    switch m {
    case 2: return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 ? 29 : 28
    case 4, 6, 9, 11: return 30
    default: return 31
    }
  }

  static func make(
    _ y: Int, _ m: Int, _ d: Int, _ hh: Int, _ mm: Int, _ ss: Int, frac: Double = 0,
    offsetSeconds: Int
  ) -> Date? {
    guard y >= 1 && y <= 9999, m >= 1 && m <= 12, d >= 1 && d <= daysIn(y, m) else { return nil }
    guard hh >= 0 && hh <= 24, mm >= 0 && mm <= 59, ss >= 0 && ss <= 61 else { return nil }
    if hh == 24 && (mm != 0 || ss != 0) { return nil }
    let s = epoch(y, m, d, hh, mm, min(ss, 59)) - offsetSeconds
    // In UTC the date must still be within years 1...9999 (0001-01-01T00:00+01:00 is
    // in year 0, which no timestamp can write).
    guard RFC3339.writableSeconds.contains(s) else { return nil }
    return Date(timeIntervalSince1970: Double(s) + frac)
  }

  // MARK: ISO 8601 / RFC 3339 / W3C-DTF

  /// YYYY, YYYY-MM, YYYY-MM-DD, YYYYMMDD, YYYY-DDD (ordinal), with an optional time
  /// (T or space) hh[:mm[:ss[.frac]]] or hhmmss, and an optional zone Z / ±hh[:mm] / ±hhmm.
  static func iso8601(_ b: [UInt8]) -> Date? {
    var i = 0
    func digits(_ maxCount: Int) -> (Int, Int)? {
      var v = 0
      var n = 0
      while i < b.count, n < maxCount, b[i] >= 0x30 && b[i] <= 0x39 {
        v = v * 10 + Int(b[i] - 0x30)
        i += 1
        n += 1
      }
      return n == 0 ? nil : (v, n)
    }
    guard let (year, yn) = digits(8) else { return nil }
    var y = year
    var m = 1
    var d = 1
    if yn == 8 {
      y = year / 10000
      m = (year / 100) % 100
      d = year % 100
    } else if yn == 4 {
      if i < b.count, b[i] == 0x2D {  // '-'
        i += 1
        guard let (v, n) = digits(3) else { return nil }
        if n == 3 {
          // Ordinal date.
          var doy = v
          m = 1
          while m <= 12, doy > daysIn(y, m) {
            doy -= daysIn(y, m)
            m += 1
          }
          guard m <= 12, doy >= 1 else { return nil }
          d = doy
        } else {
          guard n == 2 else { return nil }
          m = v
          if i < b.count, b[i] == 0x2D {
            i += 1
            guard let (dv, dn) = digits(2), dn == 2 else { return nil }
            d = dv
          }
        }
      } else if i < b.count {
        // Only a year followed by something other than a time is not ISO.
        guard b[i] == 0x54 else { return nil }
      }
    } else {
      return nil
    }
    var hh = 0
    var mi = 0
    var ss = 0
    var frac = 0.0
    var offset = 0
    if i < b.count, b[i] == 0x54 || b[i] == 0x74 || b[i] == 0x20 {  // T, t, space
      i += 1
      guard let (h, hn) = digits(6) else { return nil }
      if hn == 6 {
        hh = h / 10000
        mi = (h / 100) % 100
        ss = h % 100
      } else if hn == 4 {
        hh = h / 100
        mi = h % 100
      } else {
        guard hn == 2 else { return nil }
        hh = h
        if i < b.count, b[i] == 0x3A {
          i += 1
          guard let (v, n) = digits(2), n == 2 else { return nil }
          mi = v
          if i < b.count, b[i] == 0x3A {
            i += 1
            guard let (sv, sn) = digits(2), sn == 2 else { return nil }
            ss = sv
          }
        }
      }
      if i < b.count, b[i] == 0x2E || b[i] == 0x2C {  // fraction
        i += 1
        var scale = 0.1
        var any = false
        while i < b.count, b[i] >= 0x30 && b[i] <= 0x39 {
          frac += Double(b[i] - 0x30) * scale
          scale /= 10
          i += 1
          any = true
        }
        guard any else { return nil }
      }
      while i < b.count, b[i] == 0x20 { i += 1 }
      if i < b.count {
        if b[i] == 0x5A || b[i] == 0x7A {  // Z
          i += 1
        } else if b[i] == 0x2B || b[i] == 0x2D {
          let sign = b[i] == 0x2D ? -1 : 1
          i += 1
          guard let (v, n) = digits(4) else { return nil }
          var oh = 0
          var om = 0
          if n == 4 {
            oh = v / 100
            om = v % 100
          } else if n == 2 || n == 1 {
            oh = v
            if i < b.count, b[i] == 0x3A {
              i += 1
              guard let (mv, mn) = digits(2), mn == 2 else { return nil }
              om = mv
            }
          } else {
            return nil
          }
          guard oh <= 23, om <= 59 else { return nil }
          offset = sign * (oh * 3600 + om * 60)
        } else if let z = zoneOffset(Array(b[i...])) {
          offset = z
          i = b.count
        } else {
          return nil
        }
      }
    }
    guard i == b.count else { return nil }
    return make(y, m, d, hh, mi, ss, frac: frac, offsetSeconds: offset)
  }

  // MARK: RFC 822 and relatives

  static let monthNames: [String] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
  ]
  static let dayNames: Set<String> = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]

  /// Named and military zones, in seconds east of UTC.
  static func zoneOffset(_ word: [UInt8]) -> Int? {
    let w = String(decoding: word, as: UTF8.self).lowercased()
    switch w {
    case "ut", "utc", "gmt", "z", "wet": return 0
    case "edt": return -4 * 3600
    case "est", "cdt": return w == "est" ? -5 * 3600 : -5 * 3600
    case "cst", "mdt": return -6 * 3600
    case "mst", "pdt": return -7 * 3600
    case "pst", "akdt": return -8 * 3600
    case "akst", "hdt": return w == "akst" ? -9 * 3600 : -9 * 3600
    case "hst": return -10 * 3600
    case "adt": return -3 * 3600
    case "ast", "at": return -4 * 3600
    case "et": return -5 * 3600
    case "ct": return -6 * 3600
    case "mt": return -7 * 3600
    case "pt": return -8 * 3600
    case "bst", "cet", "met", "west": return 3600
    case "cest", "mest", "eet": return 2 * 3600
    case "eest", "msk": return 3 * 3600
    case "ist": return 5 * 3600 + 1800
    case "jst", "kst": return 9 * 3600
    case "aest": return 10 * 3600
    case "nzst": return 12 * 3600
    default: break
    }
    // RFC 822 military zones: A-I = -1..-9, K-M = -10..-12, N-Y = +1..+12.
    if w.count == 1, let c = w.unicodeScalars.first?.value {
      switch c {
      case 0x61...0x69: return -Int(c - 0x60) * 3600
      case 0x6B...0x6D: return -Int(c - 0x6B + 10) * 3600
      case 0x6E...0x79: return Int(c - 0x6D) * 3600
      default: return nil
      }
    }
    return nil
  }

  static func isDigit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }
  static func isAlpha(_ c: UInt8) -> Bool { (c | 0x20) >= 0x61 && (c | 0x20) <= 0x7A }

  /// "Sun, 06 Nov 1994 08:49:37 GMT" and its relatives: missing weekday or seconds,
  /// wrong weekdays, two-digit years, numeric, named and military zones, dashes
  /// between date parts ("06-Nov-94"), month before day, asctime's order.
  static func rfc822(_ b: [UInt8]) -> Date? {
    if let fast = rfc822Common(b) { return fast }
    return rfc822General(b)
  }

  static func rfc822General(_ b: [UInt8]) -> Date? {
    // Tokenize: runs of letters, runs of digits (with ':' inside times), signs.
    var tokens: [[UInt8]] = []
    var i = 0
    while i < b.count {
      let c = b[i]
      if isAlpha(c) {
        let s = i
        while i < b.count, isAlpha(b[i]) || b[i] == 0x2E { i += 1 }
        var word = Array(b[s..<i])
        while word.last == 0x2E { word.removeLast() }
        tokens.append(word)
      } else if isDigit(c) {
        let s = i
        while i < b.count,
          isDigit(b[i]) || b[i] == 0x3A
            || b[i] == 0x2E && i + 1 < b.count
              && isDigit(b[i + 1]) && b[s..<i].contains(0x3A)
        {
          i += 1
        }
        tokens.append(Array(b[s..<i]))
      } else if c == 0x2B || c == 0x2D {
        // A sign followed by 2 or 4 digits (optionally hh:mm) after the time is a zone;
        // elsewhere a dash is a separator.
        if i + 2 < b.count, isDigit(b[i + 1]), isDigit(b[i + 2]),
          tokens.contains(where: { $0.contains(0x3A) })
        {
          let s = i
          i += 1
          while i < b.count, isDigit(b[i]) || b[i] == 0x3A { i += 1 }
          tokens.append(Array(b[s..<i]))
        } else {
          i += 1
        }
      } else if c == 0x20 || c == 0x2C || c == 0x09 || c == 0x2F || c == 0x28 || c == 0x29 {
        i += 1
      } else {
        return nil
      }
    }
    var day: Int?
    var month: Int?
    var year: Int?
    var yearDigits = 0
    var hh = 0
    var mi = 0
    var ss = 0
    var haveTime = false
    var offset: Int?
    var numbers: [(Int, Int)] = []  // value, digit count, in order
    for t in tokens {
      guard let first = t.first else { continue }
      if first == 0x2B || first == 0x2D {
        let sign = first == 0x2D ? -1 : 1
        let digits = t.dropFirst().filter { $0 != 0x3A }
        guard digits.count == 4 || digits.count == 2 || digits.count == 3 else { return nil }
        var v = 0
        for d in digits { v = v * 10 + Int(d - 0x30) }
        let oh = digits.count == 2 ? v : v / 100
        let om = digits.count == 2 ? 0 : v % 100
        guard oh <= 23, om <= 59 else { return nil }
        offset = sign * (oh * 3600 + om * 60)
      } else if isAlpha(first) {
        let lw = String(decoding: t, as: UTF8.self).lowercased()
        let p3 = String(lw.prefix(3))
        if lw.count >= 3, let mIdx = monthNames.firstIndex(of: p3), month == nil,
          lw.count == 3 || fullMonthNames[mIdx].hasPrefix(lw) || lw == "sept"
        {
          month = mIdx + 1
        } else if lw.count >= 3, dayNames.contains(p3) {
          continue
        } else if let z = zoneOffset(t), offset == nil, haveTime || numbers.count >= 2 {
          offset = z
        } else if lw == "am" || lw == "pm" {
          if lw == "pm" && hh < 12 { hh += 12 }
          if lw == "am" && hh == 12 { hh = 0 }
        } else {
          return nil
        }
      } else if t.contains(0x3A) {
        guard !haveTime else { return nil }
        let parts = t.split(separator: 0x3A, omittingEmptySubsequences: false)
        guard parts.count >= 2 && parts.count <= 3 else { return nil }
        var vals: [Int] = []
        for (k, p) in parts.enumerated() {
          var digits = p
          if k == 2, let dot = p.firstIndex(of: 0x2E) { digits = p[p.startIndex..<dot] }
          guard !digits.isEmpty, digits.count <= 2, digits.allSatisfy(isDigit) else { return nil }
          vals.append(digits.reduce(0) { $0 * 10 + Int($1 - 0x30) })
        }
        hh = vals[0]
        mi = vals[1]
        ss = vals.count > 2 ? vals[2] : 0
        haveTime = true
      } else {
        guard t.allSatisfy(isDigit), t.count <= 4 else { return nil }
        numbers.append((t.reduce(0) { $0 * 10 + Int($1 - 0x30) }, t.count))
      }
    }
    guard let month else { return nil }
    // Numbers: day and year, in either order ("06 Nov 1994", "Nov 06 1994", "1994 Nov 06").
    for (v, n) in numbers {
      if n == 4 || n == 3 {
        guard year == nil else { return nil }
        year = v
        yearDigits = n
      } else if day == nil {
        day = v
      } else if year == nil {
        year = v
        yearDigits = n
      } else {
        return nil
      }
    }
    guard let d = day, var y = year else { return nil }
    if yearDigits <= 2 { y += y < 50 ? 2000 : 1900 } else if yearDigits == 3 { y += 1900 }
    return make(y, month, d, hh, mi, ss, offsetSeconds: offset ?? 0)
  }

  /// The form nearly every feed writes, "Sun, 06 Nov 1994 08:49:37 +0000" (weekday and
  /// seconds optional; zone numeric, GMT, UT, UTC or Z), read in one pass without the
  /// general tokenizer. nil when the string is anything else; otherwise the same result
  /// as the general reader.
  static func rfc822Common(_ b: [UInt8]) -> Date?? {
    let n = b.count
    var i = 0
    func letters3(_ at: Int) -> UInt32? {
      guard at + 3 <= n, isAlpha(b[at]), isAlpha(b[at + 1]), isAlpha(b[at + 2]) else { return nil }
      return UInt32(b[at] | 0x20) << 16 | UInt32(b[at + 1] | 0x20) << 8 | UInt32(b[at + 2] | 0x20)
    }
    func number(_ minDigits: Int, _ maxDigits: Int) -> (Int, Int)? {
      var v = 0
      var k = 0
      while i < n, k < maxDigits, isDigit(b[i]) {
        v = v * 10 + Int(b[i] - 0x30)
        i += 1
        k += 1
      }
      guard k >= minDigits, i >= n || !isDigit(b[i]) else { return nil }
      return (v, k)
    }
    if let day = letters3(0) {
      guard Self.packedDayNames.contains(day), n > 5, b[3] == 0x2C, b[4] == 0x20 else { return nil }
      i = 5
    }
    guard let (d, _) = number(1, 2), i < n, b[i] == 0x20 else { return nil }
    i += 1
    guard let mon = letters3(i), let m = Self.packedMonthNames.firstIndex(of: mon),
      i + 3 < n, b[i + 3] == 0x20
    else { return nil }
    i += 4
    guard let (y, _) = number(4, 4), i < n, b[i] == 0x20 else { return nil }
    i += 1
    guard let (hh, _) = number(2, 2), i < n, b[i] == 0x3A else { return nil }
    i += 1
    guard let (mi, _) = number(2, 2) else { return nil }
    var ss = 0
    if i < n, b[i] == 0x3A {
      i += 1
      guard let (s, _) = number(2, 2) else { return nil }
      ss = s
    }
    guard i + 1 < n, b[i] == 0x20 else { return nil }
    i += 1
    var offset = 0
    if b[i] == 0x2B || b[i] == 0x2D {
      let sign = b[i] == 0x2D ? -1 : 1
      i += 1
      guard let (v, k) = number(4, 4), k == 4, i == n else { return nil }
      guard v / 100 <= 23, v % 100 <= 59 else { return nil }
      offset = sign * (v / 100 * 3600 + v % 100 * 60)
    } else {
      let rest = b[i..<n].map { $0 | 0x20 }
      guard
        rest == [0x67, 0x6D, 0x74] || rest == [0x75, 0x74] || rest == [0x75, 0x74, 0x63]
          || rest == [0x7A]
      else { return nil }
    }
    return .some(make(y, m + 1, d, hh, mi, ss, offsetSeconds: offset))
  }

  static let packedDayNames: [UInt32] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"].map {
    $0.utf8.reduce(0) { $0 << 8 | UInt32($1) }
  }
  static let packedMonthNames: [UInt32] = monthNames.map {
    $0.utf8.reduce(0) { $0 << 8 | UInt32($1) }
  }

  static let fullMonthNames: [String] = [
    "january", "february", "march", "april", "may", "june", "july", "august", "september",
    "october", "november", "december",
  ]

  /// "2003-12-31T10:14:55Z": the scorer's and the article format's shape (the article
  /// file's own RFC 3339 writer).
  public static func iso(_ date: Date) -> String { RFC3339.string(from: date) }

}
