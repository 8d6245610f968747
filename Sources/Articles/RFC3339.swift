import Foundation

/// RFC 3339 timestamps in UTC, as the article file writes them: `2024-02-27T13:04:00Z`
/// (whole seconds, `Z`), computed by hand: no formatter, no locale, no time zone database.
public enum RFC3339 {
  /// `2024-02-27T13:04:00Z`. Fractions of a second are dropped (floored).
  public static func string(from date: Date) -> String {
    let (y, m, d, secs) = civil(date)
    return format([(y, 4), (m, 2), (d, 2), (secs / 3600, 2), (secs / 60 % 60, 2), (secs % 60, 2)])
  }

  /// `2024-02-27`: the UTC day, used in article file names.
  public static func day(from date: Date) -> String {
    let (y, m, d, _) = civil(date)
    return format([(y, 4), (m, 2), (d, 2)])
  }

  /// Zero-padded numbers joined as `Y-M-DTh:m:sZ` (or `Y-M-D` for three), written as
  /// bytes (years are clamped to 1...9999, so every field fits its width).
  static func format(_ fields: [(value: Int, width: Int)]) -> String {
    let separators: [UInt8] = [0x2D, 0x2D, 0x54, 0x3A, 0x3A, 0x5A]  // - - T : : Z
    return String(unsafeUninitializedCapacity: 20) { buf in
      var n = 0
      for (k, f) in fields.enumerated() {
        var v = f.value
        for p in stride(from: f.width - 1, through: 0, by: -1) {
          buf[n + p] = UInt8(0x30 + v % 10)
          v /= 10
        }
        n += f.width
        if k < fields.count - 1 || fields.count == 6 {
          buf[n] = separators[k]
          n += 1
        }
      }
      return n
    }
  }

  /// The seconds since 1970 a timestamp can be written for: 0001-01-01T00:00:00Z to
  /// 9999-12-31T23:59:59Z.
  public static let writableSeconds = -62_135_596_800...253_402_300_799

  /// Year, month, day and seconds into the day (UTC) of a date; years clamped to 1...9999
  /// so that a bogus date can never produce a malformed timestamp (or one that YAML
  /// readers refuse: Python's has no year 0).
  static func civil(_ date: Date) -> (Int, Int, Int, Int) {
    let t = date.timeIntervalSince1970
    let lo = Double(writableSeconds.lowerBound)
    let hi = Double(writableSeconds.upperBound)
    let clamped = t.isNaN ? 0 : min(max(t, lo), hi)
    let seconds = Int(clamped.rounded(.down))
    var days = seconds / 86_400
    var secs = seconds % 86_400
    if secs < 0 {
      secs += 86_400
      days -= 1
    }
    // Howard Hinnant's days-to-civil algorithm.
    let z = days + 719_468
    let era = (z >= 0 ? z : z - 146_096) / 146_097
    let doe = z - era * 146_097
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
    let mp = (5 * doy + 2) / 153
    let d = doy - (153 * mp + 2) / 5 + 1
    let m = mp < 10 ? mp + 3 : mp - 9
    let y = yoe + era * 400 + (m <= 2 ? 1 : 0)
    return (y, m, d, secs)
  }
}
