import Foundation

/// When a feed is next due: pure decisions, tested with explicit times.
public struct Schedule: Sendable {
  /// Longest wait, also the cap of the error backoff.
  public static let maxInterval: TimeInterval = 24 * 3600

  /// Next due time after a successful fetch (200 or 304): the interval, with up to
  /// 10% jitter derived from the feed URL, so feeds configured alike spread out and
  /// a restart does not make them fire together.
  public static func afterSuccess(_ now: Date, interval: TimeInterval, url: String) -> Date {
    now.addingTimeInterval(interval + jitter(url: url, fraction: 0.1) * interval)
  }

  /// Next due time after an error: exponential backoff from the interval's
  /// quarter (at least a minute), doubling per consecutive error, capped at 24 h,
  /// never a permanent stop.
  public static func afterError(
    _ now: Date, interval: TimeInterval, errorCount: Int, url: String, retryAfter: TimeInterval?
  ) -> Date {
    let base = max(60, interval / 4)
    let exp = min(errorCount - 1, 20)
    var wait = min(base * pow(2, Double(max(0, exp))), maxInterval)
    wait += jitter(url: url + "#\(errorCount)", fraction: 0.2) * wait
    if let retryAfter { wait = max(wait, retryAfter) }
    return now.addingTimeInterval(min(wait, maxInterval))
  }

  /// A stable value in [0, fraction) from the URL.
  static func jitter(url: String, fraction: Double) -> Double {
    var h: UInt64 = 0xcbf2_9ce4_8422_2325
    for b in url.utf8 {
      h ^= UInt64(b)
      h &*= 0x100_0000_01b3
    }
    return Double(h % 10_000) / 10_000 * fraction
  }

  /// Due when never fetched or when the stored due time has passed.
  public static func isDue(_ state: FeedState, now: Date) -> Bool {
    guard let next = state.nextDue else { return true }
    return next <= now
  }
}
