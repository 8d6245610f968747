import Foundation

/// Politeness per origin: at most `limit` requests in flight to one origin (or host
/// group) and at least `spacing` between the starts of two requests to it. Feeds
/// of other origins are never held up by a slow one.
public actor OriginGate {
  let limit: Int
  let spacing: Duration
  private var inFlight: [String: Int] = [:]
  private var lastStart: [String: ContinuousClock.Instant] = [:]
  private var waiters: [String: [CheckedContinuation<Void, Never>]] = [:]

  public init(limit: Int, spacing: Duration) {
    self.limit = max(1, limit)
    self.spacing = spacing
  }

  /// Waits for a slot for `origin`; pair with `release`.
  public func acquire(_ origin: String) async {
    while (inFlight[origin] ?? 0) >= limit {
      await withCheckedContinuation { waiters[origin, default: []].append($0) }
    }
    inFlight[origin, default: 0] += 1
    if spacing > .zero {
      let clock = ContinuousClock()
      if let last = lastStart[origin] {
        let earliest = last.advanced(by: spacing)
        lastStart[origin] = max(earliest, clock.now)
        if earliest > clock.now { try? await clock.sleep(until: earliest) }
      } else {
        lastStart[origin] = clock.now
      }
    }
  }

  public func release(_ origin: String) {
    inFlight[origin, default: 1] -= 1
    if inFlight[origin] == 0 { inFlight[origin] = nil }
    if var w = waiters[origin], !w.isEmpty {
      let next = w.removeFirst()
      waiters[origin] = w.isEmpty ? nil : w
      next.resume()
    }
  }

  /// Runs `body` holding a slot of `origin`.
  public func with<T: Sendable>(_ origin: String, _ body: @Sendable () async -> T) async -> T {
    await acquire(origin)
    let r = await body()
    release(origin)
    return r
  }
}
