import Foundation

/// Parses the dates pages write: ISO 8601 / RFC 3339 (`2021-11-01T10:52:50+0100`,
/// `...Z`, fractional seconds, a space instead of `T`, no offset = UTC, date only) and
/// RFC 2822 (`Fri, 24 Jul 2015 05:36:09 +0100`, `GMT`, US zone names).
enum DateParser {
  static func parse(_ raw: String) -> Date? {
    let s = raw.trimmingSpaces()
    if s.isEmpty { return nil }
    if let d = parseISO(s) { return d }
    return parseRFC2822(s)
  }

  static func parseISO(_ s: String) -> Date? {
    let b = Array(s.utf8)
    var i = 0
    func digits(_ count: Int) -> Int? {
      guard i + count <= b.count else { return nil }
      var v = 0
      for k in 0..<count {
        let c = b[i + k]
        guard c >= 0x30 && c <= 0x39 else { return nil }
        v = v * 10 + Int(c - 0x30)
      }
      i += count
      return v
    }
    func skip(_ c: UInt8) -> Bool {
      if i < b.count && b[i] == c {
        i += 1
        return true
      }
      return false
    }
    guard let year = digits(4), skip(UInt8(ascii: "-")), let month = digits(2) else { return nil }
    var day = 1
    if skip(UInt8(ascii: "-")) {
      guard let d = digits(2) else { return nil }
      day = d
    }
    var hour = 0
    var minute = 0
    var second = 0
    var offset = 0
    if i < b.count
      && (b[i] == UInt8(ascii: "T") || b[i] == UInt8(ascii: " ") || b[i] == UInt8(ascii: "t"))
    {
      i += 1
      guard let h = digits(2), skip(UInt8(ascii: ":")), let m = digits(2) else { return nil }
      hour = h
      minute = m
      if skip(UInt8(ascii: ":")) {
        guard let sec = digits(2) else { return nil }
        second = sec
      }
      if skip(UInt8(ascii: ".")) || skip(UInt8(ascii: ",")) {
        while i < b.count && b[i] >= 0x30 && b[i] <= 0x39 { i += 1 }
      }
      while i < b.count && b[i] == 0x20 { i += 1 }
      if i < b.count {
        if b[i] == UInt8(ascii: "Z") || b[i] == UInt8(ascii: "z") {
          i += 1
        } else if b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-") {
          let sign = b[i] == UInt8(ascii: "+") ? 1 : -1
          i += 1
          guard let oh = digits(2) else { return nil }
          _ = skip(UInt8(ascii: ":"))
          let om = digits(2) ?? 0
          offset = sign * (oh * 3600 + om * 60)
        }
      }
    }
    return makeDate(year, month, day, hour, minute, second, offset)
  }

  static let months = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
  ]
  static let zones: [String: Int] = [
    "gmt": 0, "ut": 0, "utc": 0, "z": 0, "est": -5, "edt": -4, "cst": -6, "cdt": -5,
    "mst": -7, "mdt": -6, "pst": -8, "pdt": -7,
  ]

  static func parseRFC2822(_ s: String) -> Date? {
    var parts = s.lowercased().split(whereSeparator: { $0 == " " || $0 == "," }).map(String.init)
    let weekdays = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    if let first = parts.first, weekdays.contains(String(first.prefix(3))),
      first.allSatisfy({ $0.isLetter || $0 == "." })
    {
      parts.removeFirst()
    }
    guard parts.count >= 3 else { return nil }
    var day: Int?
    var month: Int?
    if let d = Int(parts[0]), let m = months.firstIndex(of: String(parts[1].prefix(3))) {
      day = d
      month = m + 1
    } else if let m = months.firstIndex(of: String(parts[0].prefix(3))), let d = Int(parts[1]) {
      day = d
      month = m + 1
    }
    guard let day, let month, var year = Int(parts[2]) else { return nil }
    if year < 100 { year += year < 50 ? 2000 : 1900 }
    var hour = 0
    var minute = 0
    var second = 0
    var offset = 0
    if parts.count > 3 {
      let hms = parts[3].split(separator: ":").compactMap { Int($0) }
      if hms.count >= 2 {
        hour = hms[0]
        minute = hms[1]
        second = hms.count > 2 ? hms[2] : 0
      }
    }
    if parts.count > 4 {
      let z = parts[4]
      if let h = zones[z] {
        offset = h * 3600
      } else if (z.hasPrefix("+") || z.hasPrefix("-")), z.count == 5, let v = Int(z.dropFirst()) {
        offset = (z.hasPrefix("-") ? -1 : 1) * ((v / 100) * 3600 + (v % 100) * 60)
      }
    }
    return makeDate(year, month, day, hour, minute, second, offset)
  }

  static func makeDate(
    _ year: Int, _ month: Int, _ day: Int, _ hour: Int, _ minute: Int, _ second: Int,
    _ offset: Int
  ) -> Date? {
    guard (1...12).contains(month), (1...31).contains(day), (0...24).contains(hour),
      (0...59).contains(minute), (0...60).contains(second)
    else { return nil }
    // Days from civil (proleptic Gregorian), no Calendar needed.
    let y = month <= 2 ? year - 1 : year
    let era = (y >= 0 ? y : y - 399) / 400
    let yoe = y - era * 400
    let mp = (month + 9) % 12
    let doy = (153 * mp + 2) / 5 + day - 1
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
    let days = era * 146097 + doe - 719468
    let seconds = days * 86400 + hour * 3600 + minute * 60 + second - offset
    return Date(timeIntervalSince1970: TimeInterval(seconds))
  }
}
