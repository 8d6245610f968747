import Articles
import Foundation

/// What a fetch told us about when to come back.
public struct FeedHints: Sendable, Equatable, Codable {
  /// RSS `<ttl>`, seconds.
  public var ttl: TimeInterval?
  /// `sy:updatePeriod` / `sy:updateFrequency`, seconds between updates.
  public var updatePeriod: TimeInterval?
  /// `skipHours` (0-23, UTC) and `skipDays` (1 = Sunday ... 7 = Saturday).
  public var skipHours: Set<Int> = []
  public var skipDays: Set<Int> = []
  /// Cache-Control max-age (or s-maxage), seconds.
  public var maxAge: TimeInterval?
  public var expires: Date?
  /// Typical time between the feed's items (median gap of their dates).
  public var observedInterval: TimeInterval?
  public init() {}
}

/// How a fetch ended, as far as scheduling cares.
public enum PollResult: Sendable, Equatable {
  /// 200 with a usable feed.
  case ok(FeedHints)
  /// 304.
  case notModified(FeedHints)
  /// 410: the feed is retired.
  case gone
  /// 429, or 503 with Retry-After: the origin asks everyone to wait.
  case rateLimited(retryAfter: TimeInterval?)
  /// Any other HTTP error status (404, 500, 503 without Retry-After...).
  case httpError(Int, retryAfter: TimeInterval?)
  /// DNS or connection failure: may be our own network being down.
  case unreachable
  /// Timeout, too large, TLS, a body that is no feed, a spool failure...
  case failed
}

/// The scheduling rules, pure: given a feed's state, a result and the time, the next
/// state. No clock, no I/O; tested with explicit times.
public struct FeedScheduler: Sendable {
  /// The shortest interval unless a feed's configured interval is shorter.
  public var floor: TimeInterval = 15 * 60
  /// The longest interval, and the cap of the error backoff.
  public var ceiling: TimeInterval = 24 * 3600
  /// Consecutive fetches redirected permanently to the same target before the
  /// feed's state moves there.
  public var movesAfter = 3

  public init() {}

  /// The interval a healthy feed is polled at.
  ///
  /// - An interval configured for the feed is the base; without one the observed
  ///   publishing rate (half the typical gap between items, so new items wait at
  ///   most about half a gap) between the floor and 24 h; without that the global
  ///   interval.
  /// - Never faster than the floor (a configured interval below it lowers it), and
  ///   never faster than the feed or server asks (`ttl`, `sy:updatePeriod`,
  ///   Cache-Control max-age, Expires), but never slower than 24 h.
  public func interval(
    configured: TimeInterval?, global: TimeInterval, hints: FeedHints, now: Date
  ) -> TimeInterval {
    let floor = min(self.floor, configured ?? self.floor)
    var base: TimeInterval
    if let configured {
      base = configured
    } else if let observed = hints.observedInterval, observed > 0 {
      base = min(max(observed / 2, floor), ceiling)
    } else {
      base = global
    }
    base = max(base, floor)
    var asked: TimeInterval = 0
    if let t = hints.ttl { asked = max(asked, t) }
    if let p = hints.updatePeriod { asked = max(asked, p) }
    if let m = hints.maxAge { asked = max(asked, m) }
    if let e = hints.expires { asked = max(asked, e.timeIntervalSince(now)) }
    return min(max(base, asked), max(ceiling, base))
  }

  /// Applies `result` to `state` at `now`. `configured` is the feed's own interval.
  public func record(
    _ result: PollResult, into state: inout FeedState, configured: TimeInterval?,
    global: TimeInterval, now: Date
  ) {
    state.lastFetch = now
    switch result {
    case .ok(let hints), .notModified(let hints):
      state.errorCount = 0
      state.hints = hints
      let i = interval(configured: configured, global: global, hints: hints, now: now)
      state.nextDue = avoidSkipped(
        now.addingTimeInterval(i + jitter(state.url, i * 0.1)), hints: hints)
    case .gone:
      state.retired = true
      state.nextDue = nil
    case .rateLimited(let retryAfter):
      // The wait is the origin's (see OriginBook); the feed itself is not at fault.
      let wait = max(retryAfter ?? 3600, 60)
      state.nextDue = now.addingTimeInterval(min(wait, ceiling) + jitter(state.url, 30))
    case .httpError(_, let retryAfter):
      state.errorCount += 1
      state.nextDue = backoff(
        state, configured: configured, global: global, now: now, at: retryAfter)
    case .unreachable, .failed:
      state.errorCount += 1
      state.nextDue = backoff(state, configured: configured, global: global, now: now, at: nil)
    }
  }

  /// Exponential backoff from a quarter of the interval (at least a minute),
  /// doubling per consecutive error, with jitter, capped at 24 h: a failing feed is
  /// retried ever more slowly, never silently dropped.
  public func backoff(
    _ state: FeedState, configured: TimeInterval?, global: TimeInterval, now: Date,
    at retryAfter: TimeInterval?
  ) -> Date {
    let base = max(60, (configured ?? global) / 4)
    let n = min(max(state.errorCount - 1, 0), 30)
    var wait = min(base * pow(2, Double(n)), ceiling)
    wait += jitter(state.url + "#\(state.errorCount)", wait * 0.2)
    if let retryAfter { wait = max(wait, retryAfter) }
    return now.addingTimeInterval(min(wait, ceiling))
  }

  /// Tracks permanent redirects (301/308 from the first hop on). After `movesAfter`
  /// consecutive fetches ending at the same target, the feed moves there; 302/307
  /// (and a chain that starts with one) never move it.
  public func recordRedirects(
    _ hops: [(status: Int, to: String)], into state: inout FeedState
  ) {
    var target: String?
    for hop in hops {
      guard hop.status == 301 || hop.status == 308 else { break }
      target = hop.to
    }
    guard let target else {
      state.redirectTarget = nil
      state.redirectStreak = 0
      return
    }
    if state.redirectTarget == target {
      state.redirectStreak += 1
    } else {
      state.redirectTarget = target
      state.redirectStreak = 1
    }
    if state.redirectStreak >= movesAfter {
      state.movedTo = target
      state.redirectTarget = nil
      state.redirectStreak = 0
    }
  }

  /// Moves `date` past skipped hours and days (UTC), at most a week ahead.
  public func avoidSkipped(_ date: Date, hints: FeedHints) -> Date {
    guard !hints.skipHours.isEmpty || !hints.skipDays.isEmpty else { return date }
    guard hints.skipHours.count < 24, hints.skipDays.count < 7 else { return date }
    var cal = Calendar(identifier: .gregorian)
    cal.timeZone = TimeZone(identifier: "UTC")!
    var d = date
    for _ in 0..<(24 * 8) {
      let c = cal.dateComponents([.hour, .weekday], from: d)
      let skip = hints.skipHours.contains(c.hour ?? -1) || hints.skipDays.contains(c.weekday ?? -1)
      if !skip { return d }
      // To the start of the next hour.
      let start = cal.dateInterval(of: .hour, for: d)?.end ?? d.addingTimeInterval(3600)
      d = start
    }
    return date
  }

  /// A stable value in [0, span) for a key, so feeds spread out deterministically.
  public func jitter(_ key: String, _ span: TimeInterval) -> TimeInterval {
    var h: UInt64 = 0xcbf2_9ce4_8422_2325
    for b in key.utf8 {
      h ^= UInt64(b)
      h &*= 0x100_0000_01b3
    }
    return Double(h % 10_000) / 10_000 * span
  }

  /// Whether a feed may be fetched now. `force` makes a healthy feed due early, but
  /// never a retired feed, never a failing feed before its backoff ends, and never
  /// before its origin's wait (checked by the caller).
  public func isDue(_ state: FeedState, now: Date, force: Bool) -> Bool {
    if state.retired == true { return false }
    guard let next = state.nextDue else { return true }
    if force && state.errorCount == 0 { return true }
    return sane(next, now: now) <= now
  }

  /// The furthest ahead this scheduler ever sets a due time: the ceiling, moved past
  /// skipped hours and days (at most a week), with its jitter.
  public var longestWait: TimeInterval { ceiling * 1.2 + 7 * 24 * 3600 }

  /// `next`, unless it lies further ahead than any wait this scheduler sets: then the
  /// clock was set back since it was recorded (a day in 2031 written while the clock was
  /// wrong), and the job is due now rather than when the clock gets there.
  public func sane(_ next: Date, now: Date) -> Date {
    next.timeIntervalSince(now) > longestWait ? now : next
  }

  /// Median gap between item dates (newest 30), for the adaptive interval.
  public static func observedInterval(_ dates: [Date]) -> TimeInterval? {
    let sorted = dates.sorted(by: >).prefix(30)
    guard sorted.count >= 3 else { return nil }
    var gaps: [TimeInterval] = []
    for (a, b) in zip(sorted, sorted.dropFirst()) {
      let g = a.timeIntervalSince(b)
      if g > 0 { gaps.append(g) }
    }
    guard !gaps.isEmpty else { return nil }
    gaps.sort()
    return gaps[gaps.count / 2]
  }
}

/// Waits imposed on whole origins (scheme, host, port) or configured groups of
/// hosts: a 429 or a 503 with Retry-After holds every feed of the origin back.
public struct OriginBook: Sendable, Equatable, Codable {
  /// Origin key -> not before.
  public var blockedUntil: [String: Date] = [:]
  /// Host patterns (`*.tumblr.com`, `example.org`) that form one service each.
  public var groups: [String] = []

  public init(groups: [String] = []) { self.groups = groups }

  /// The key of a URL's origin or of the configured group its host belongs to.
  public func key(for url: String) -> String {
    guard let (scheme, host, port) = CanonicalURL.origin(of: url) else { return url }
    for g in groups {
      let pattern = g.lowercased()
      if pattern.hasPrefix("*.") {
        let suffix = String(pattern.dropFirst(1))
        if host.hasSuffix(suffix) || host == String(pattern.dropFirst(2)) {
          return "group:" + pattern
        }
      } else if host == pattern {
        return "group:" + pattern
      }
    }
    return "\(scheme)://\(host):\(port)"
  }

  /// The longest an origin is held back, whatever it asked: a day (a Retry-After of
  /// 99999999999 seconds, or a block kept in an older state file, would stop every feed
  /// of the origin for good).
  public static let longestWait: TimeInterval = 24 * 3600

  public func wait(for url: String, now: Date) -> Date? {
    guard let until = blockedUntil[key(for: url)], until > now else { return nil }
    return min(until, now.addingTimeInterval(Self.longestWait))
  }

  public mutating func block(_ url: String, until: Date) {
    let k = key(for: url)
    if let old = blockedUntil[k], old > until { return }
    blockedUntil[k] = until
  }

  public mutating func prune(now: Date) {
    blockedUntil = blockedUntil.filter { $0.value > now }
  }
}
