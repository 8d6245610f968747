import Foundation

/// Tells our own network being down from feeds failing.
///
/// When, within `window`, at least `minOrigins` distinct origins were tried and
/// nearly all of them (`share`) failed only with DNS or connection errors, and none
/// answered, the daemon is offline: no feed is penalized for it, and a single probe
/// is tried with a growing delay until something answers again.
public struct OutageDetector: Sendable {
  public var window: TimeInterval = 120
  public var minOrigins = 3
  public var share = 0.8
  public var firstProbeDelay: TimeInterval = 30
  public var maxProbeDelay: TimeInterval = 1800

  struct Event: Sendable {
    var time: Date
    var origin: String
    var feed: String
    var unreachable: Bool
  }
  private var events: [Event] = []
  /// Set while offline.
  public private(set) var since: Date?
  public private(set) var probes = 0

  public init() {}

  public var isDown: Bool { since != nil }

  /// Records a result. Returns the feeds whose recent unreachable failures should
  /// not count against them, when this result starts an outage.
  public mutating func record(origin: String, feed: String, unreachable: Bool, now: Date)
    -> [String]
  {
    events.removeAll { now.timeIntervalSince($0.time) > window }
    events.append(Event(time: now, origin: origin, feed: feed, unreachable: unreachable))
    if !unreachable {
      since = nil
      probes = 0
      return []
    }
    if since != nil {
      probes += 1
      return []
    }
    var originOK: [String: Bool] = [:]
    for e in events { originOK[e.origin] = (originOK[e.origin] ?? false) || !e.unreachable }
    let total = originOK.count
    let failing = originOK.values.filter { !$0 }.count
    guard total >= minOrigins, Double(failing) >= share * Double(total),
      !events.contains(where: { !$0.unreachable })
    else { return [] }
    since = now
    probes = 0
    return Array(Set(events.filter(\.unreachable).map(\.feed)))
  }

  /// How long to wait before the next probe while offline.
  public var probeDelay: TimeInterval {
    min(firstProbeDelay * pow(2, Double(min(probes, 20))), maxProbeDelay)
  }
}
