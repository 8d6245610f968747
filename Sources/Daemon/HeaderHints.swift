import Feeds
import Foundation
import HTTP

/// Schedule hints from HTTP response headers.
enum HeaderHints {
  /// Cache-Control max-age / s-maxage and Expires. `no-cache`/`no-store` say
  /// nothing about polling and are ignored.
  static func apply(_ headers: HTTPHeaders, to hints: inout FeedHints, now: Date) {
    hints.maxAge = nil
    hints.expires = nil
    if let cc = headers["cache-control"] {
      for part in cc.split(separator: ",") {
        let kv = part.split(separator: "=", maxSplits: 1).map {
          $0.trimmingCharacters(in: .whitespaces).lowercased()
        }
        if kv.count == 2, kv[0] == "max-age" || kv[0] == "s-maxage",
          let v = Int(kv[1].trimmingCharacters(in: CharacterSet(charactersIn: "\""))), v > 0
        {
          hints.maxAge = max(hints.maxAge ?? 0, TimeInterval(v))
        }
      }
    }
    if hints.maxAge == nil, let e = headers["expires"], let d = FeedDate.parse(e), d > now {
      hints.expires = d
    }
  }
}

extension FeedHints {
  /// `ttl`, `sy:updatePeriod`/`sy:updateFrequency`, `skipHours`, `skipDays`.
  static func from(_ feed: ParsedFeed) -> FeedHints {
    var h = FeedHints()
    if let ttl = feed.ttlMinutes, ttl > 0 { h.ttl = TimeInterval(ttl) * 60 }
    if let period = feed.updatePeriod?.trimmingCharacters(in: .whitespaces).lowercased() {
      let seconds: TimeInterval? =
        switch period {
        case "hourly": 3600
        case "daily": 86400
        case "weekly": 604800
        case "monthly": 2_592_000
        case "yearly": 31_536_000
        default: nil
        }
      if let seconds {
        let f = max(1, feed.updateFrequency ?? 1)
        h.updatePeriod = seconds / TimeInterval(f)
      }
    }
    h.skipHours = Set(feed.skipHours.filter { (0..<24).contains($0) })
    let days = ["sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"]
    h.skipDays = Set(
      feed.skipDays.compactMap { d in
        days.firstIndex(of: d.trimmingCharacters(in: .whitespaces).lowercased()).map { $0 + 1 }
      })
    return h
  }
}
