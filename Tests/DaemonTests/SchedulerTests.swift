import Foundation
import HTTP
import Testing

@testable import Daemon

/// The scheduling rules with explicit times: days of simulated time in milliseconds.
struct SchedulerTests {
  let s = FeedScheduler()
  let t0 = Date(timeIntervalSince1970: 1_717_236_000)  // 2024-06-01 10:00 UTC, a Saturday
  let hour: TimeInterval = 3600

  func state(_ url: String = "https://a.example/feed") -> FeedState { FeedState(url: url) }

  @Test func aHealthyFeedWaitsItsIntervalWithBoundedStableJitter() {
    var a = state()
    s.record(.ok(FeedHints()), into: &a, configured: nil, global: hour, now: t0)
    let wait = a.nextDue!.timeIntervalSince(t0)
    #expect(wait >= hour && wait < hour * 1.1)
    var b = state("https://b.example/feed")
    s.record(.ok(FeedHints()), into: &b, configured: nil, global: hour, now: t0)
    #expect(a.nextDue != b.nextDue)  // feeds configured alike do not fire together
    var a2 = state()
    s.record(.notModified(FeedHints()), into: &a2, configured: nil, global: hour, now: t0)
    #expect(a2.nextDue == a.nextDue)
  }

  /// A due time recorded while the clock was years ahead does not hold the feed until
  /// the clock gets there; every due time the scheduler sets itself stands.
  @Test func aDueTimeBeyondAnyWaitMeansTheClockWentBack() {
    var a = state()
    let wrongClock = t0.addingTimeInterval(5 * 365 * 24 * hour)
    s.record(.ok(FeedHints()), into: &a, configured: nil, global: hour, now: wrongClock)
    #expect(s.isDue(a, now: t0, force: false))
    for errors in 0..<40 {
      var b = state()
      b.errorCount = errors
      s.record(.failed, into: &b, configured: nil, global: 24 * hour, now: t0)
      #expect(!s.isDue(b, now: t0, force: false))
      #expect(s.sane(b.nextDue!, now: t0) == b.nextDue!)
    }
    var c = state()
    var hints = FeedHints()
    hints.skipDays = [1, 2, 3, 4, 5, 6]  // all days but Saturday skipped
    s.record(.ok(hints), into: &c, configured: nil, global: 24 * hour, now: t0)
    #expect(s.sane(c.nextDue!, now: t0) == c.nextDue!)
  }

  @Test func theFloorIsFifteenMinutesUnlessTheFeedLowersIt() {
    #expect(s.interval(configured: nil, global: 60, hints: FeedHints(), now: t0) == 900)
    #expect(s.interval(configured: 120, global: hour, hints: FeedHints(), now: t0) == 120)
  }

  @Test func neverFasterThanTheFeedOrServerAsks() {
    var h = FeedHints()
    h.ttl = 2 * hour
    #expect(s.interval(configured: nil, global: hour, hints: h, now: t0) == 2 * hour)
    h = FeedHints()
    h.updatePeriod = 86400 / 2  // sy:updatePeriod daily, updateFrequency 2
    #expect(s.interval(configured: nil, global: hour, hints: h, now: t0) == 12 * hour)
    h = FeedHints()
    h.maxAge = 3 * hour
    #expect(s.interval(configured: nil, global: hour, hints: h, now: t0) == 3 * hour)
    h = FeedHints()
    h.expires = t0.addingTimeInterval(5 * hour)
    #expect(s.interval(configured: nil, global: hour, hints: h, now: t0) == 5 * hour)
    h = FeedHints()
    h.ttl = 30 * 86400  // a month: still polled daily
    #expect(s.interval(configured: nil, global: hour, hints: h, now: t0) == 86400)
  }

  @Test func theObservedPublishingRateAdaptsBetweenFloorAndADay() {
    var h = FeedHints()
    h.observedInterval = 10 * 60  // every 10 minutes: down to the floor
    #expect(s.interval(configured: nil, global: hour, hints: h, now: t0) == 900)
    h.observedInterval = 6 * hour
    #expect(s.interval(configured: nil, global: hour, hints: h, now: t0) == 3 * hour)
    h.observedInterval = 30 * 86400
    #expect(s.interval(configured: nil, global: hour, hints: h, now: t0) == 86400)
    // A configured interval is the operator's choice and wins over the rate.
    #expect(s.interval(configured: 2 * hour, global: hour, hints: h, now: t0) == 2 * hour)
    let dates = (0..<10).map { t0.addingTimeInterval(-Double($0) * 4 * hour) }
    #expect(FeedScheduler.observedInterval(dates) == 4 * hour)
    #expect(FeedScheduler.observedInterval([t0]) == nil)
  }

  @Test func skipHoursAndDaysPushTheNextPollOut() {
    var h = FeedHints()
    h.skipHours = [11, 12, 13]
    // 10:00 + ~1 h lands in 11:xx: moved to 14:00.
    let d = s.avoidSkipped(t0.addingTimeInterval(hour + 60), hints: h)
    #expect(d == t0.addingTimeInterval(4 * hour))
    h = FeedHints()
    h.skipDays = [7, 1]  // Saturday and Sunday
    let e = s.avoidSkipped(t0.addingTimeInterval(hour), hints: h)
    #expect(e == Date(timeIntervalSince1970: 1_717_372_800))  // Monday 2024-06-03 00:00 UTC
  }

  @Test func errorsBackOffExponentiallyCappedAtADayAndNeverStop() {
    var f = state()
    var last: TimeInterval = 0
    var now = t0
    for _ in 1...12 {
      s.record(.httpError(500, retryAfter: nil), into: &f, configured: nil, global: hour, now: now)
      let wait = f.nextDue!.timeIntervalSince(now)
      #expect(wait >= last || wait >= 86400 * 0.99)
      #expect(wait <= 86400)
      last = wait
      now = f.nextDue!
    }
    #expect(f.errorCount == 12)
    #expect(f.retired != true)
    #expect(s.isDue(f, now: f.nextDue!, force: false))
    // --force does not cut a failing feed's backoff short.
    #expect(!s.isDue(f, now: f.nextDue! - 1, force: true))
    // One success resets the backoff.
    s.record(.ok(FeedHints()), into: &f, configured: nil, global: hour, now: now)
    #expect(f.errorCount == 0)
  }

  @Test func notFoundKeepsASlowRetryWhileGoneRetires() {
    var f = state()
    s.record(.httpError(404, retryAfter: nil), into: &f, configured: nil, global: hour, now: t0)
    #expect(f.retired != true)
    #expect(f.nextDue != nil)
    var g = state()
    s.record(.gone, into: &g, configured: nil, global: hour, now: t0)
    #expect(g.retired == true)
    #expect(!s.isDue(g, now: t0.addingTimeInterval(365 * 86400), force: false))
    #expect(!s.isDue(g, now: t0, force: true))  // --force never revives a retired feed
  }

  @Test func rateLimitsWaitRetryAfterWithoutCountingAsAFeedError() {
    var f = state()
    s.record(.rateLimited(retryAfter: 7200), into: &f, configured: nil, global: hour, now: t0)
    #expect(f.errorCount == 0)
    #expect(f.nextDue!.timeIntervalSince(t0) >= 7200)
  }

  @Test func retryAfterIsSecondsOrAnHTTPDate() {
    #expect(RetryAfter.parse("120", now: t0) == 120)
    #expect(RetryAfter.parse("Sat, 01 Jun 2024 11:00:00 GMT", now: t0) == hour)
    #expect(RetryAfter.parse("soon", now: t0) == nil)
    // Absurd waits are held to a day: an origin is never stopped for good.
    let day: TimeInterval = 24 * 3600
    #expect(RetryAfter.parse("99999999999", now: t0) == day)
    #expect(RetryAfter.parse("99999999999999999999999", now: t0) == day)
    #expect(RetryAfter.parse("Fri, 31 Dec 9999 23:59:59 GMT", now: t0) == day)
    #expect(RetryAfter.parse("Sat, 01 Jun 2024 09:00:00 GMT", now: t0) == 0)  // past
    var book = OriginBook()
    book.block("https://slow.example/feed", until: t0.addingTimeInterval(1e12))  // an old state
    #expect(book.wait(for: "https://slow.example/other", now: t0) == t0.addingTimeInterval(day))
  }

  @Test func originWaitsAreSharedAndGroupsCountAsOneOrigin() {
    var book = OriginBook(groups: ["*.tumblr.com"])
    book.block("https://news.example.org/feed", until: t0.addingTimeInterval(120))
    #expect(book.wait(for: "https://news.example.org/other.xml", now: t0) != nil)
    #expect(book.wait(for: "https://news.example.org:8443/feed", now: t0) == nil)
    #expect(book.wait(for: "http://news.example.org/feed", now: t0) == nil)
    #expect(book.wait(for: "https://news.example.org/feed", now: t0.addingTimeInterval(121)) == nil)
    book.block("https://alice.tumblr.com/rss", until: t0.addingTimeInterval(600))
    #expect(book.wait(for: "https://bob.tumblr.com/rss", now: t0) != nil)
    // A shorter wait never shortens a longer one.
    book.block("https://carol.tumblr.com/rss", until: t0.addingTimeInterval(10))
    #expect(book.wait(for: "https://bob.tumblr.com/rss", now: t0.addingTimeInterval(300)) != nil)
  }

  @Test func aFeedMovesAfterThreeConsecutiveIdenticalPermanentRedirects() {
    var f = state()
    let hop = [(status: 301, to: "https://new.example/feed")]
    s.recordRedirects(hop, into: &f)
    s.recordRedirects(hop, into: &f)
    #expect(f.movedTo == nil)
    s.recordRedirects(hop, into: &f)
    #expect(f.movedTo == "https://new.example/feed")
  }

  @Test func aBrokenStreakOrATemporaryRedirectDoesNotMoveAFeed() {
    var f = state()
    s.recordRedirects([(308, "https://new.example/a")], into: &f)
    s.recordRedirects([(308, "https://new.example/a")], into: &f)
    s.recordRedirects([], into: &f)  // answered directly once
    s.recordRedirects([(308, "https://new.example/a")], into: &f)
    #expect(f.movedTo == nil)
    var g = state()
    for _ in 0..<5 { s.recordRedirects([(302, "https://tmp.example/x")], into: &g) }
    #expect(g.movedTo == nil)
    var h = state()
    for _ in 0..<5 {
      s.recordRedirects([(307, "https://a.example/1"), (301, "https://b.example/2")], into: &h)
    }
    #expect(h.movedTo == nil)
  }

  @Test func headerHintsComeFromCacheControlAndExpires() {
    var h = FeedHints()
    HeaderHintsProbe.apply(["Cache-Control": "public, max-age=7200"], &h, t0)
    #expect(h.maxAge == 7200)
    h = FeedHints()
    HeaderHintsProbe.apply(["Expires": "Sat, 01 Jun 2024 13:00:00 GMT"], &h, t0)
    #expect(h.expires == t0.addingTimeInterval(3 * hour))
  }

  @Test func anOutageIsOursWhenNearlyEveryOriginIsUnreachable() {
    var d = OutageDetector()
    #expect(d.record(origin: "a", feed: "fa", unreachable: true, now: t0).isEmpty)
    #expect(d.record(origin: "b", feed: "fb", unreachable: true, now: t0 + 1).isEmpty)
    #expect(!d.isDown)
    let forgiven = d.record(origin: "c", feed: "fc", unreachable: true, now: t0 + 2)
    #expect(d.isDown)
    #expect(Set(forgiven) == ["fa", "fb", "fc"])
    // The probe backs off while it keeps failing, up to a cap.
    let first = d.probeDelay
    _ = d.record(origin: "a", feed: "fa", unreachable: true, now: t0 + 40)
    _ = d.record(origin: "a", feed: "fa", unreachable: true, now: t0 + 100)
    #expect(d.probeDelay > first)
    for i in 0..<30 {
      _ = d.record(origin: "a", feed: "fa", unreachable: true, now: t0 + 200 + Double(i))
    }
    #expect(d.probeDelay <= 1800)
    // One answer ends it.
    _ = d.record(origin: "b", feed: "fb", unreachable: false, now: t0 + 300)
    #expect(!d.isDown)
  }

  @Test func oneDeadHostAmongLiveOnesIsNoOutage() {
    var d = OutageDetector()
    _ = d.record(origin: "live1", feed: "f1", unreachable: false, now: t0)
    _ = d.record(origin: "dead", feed: "f2", unreachable: true, now: t0 + 1)
    _ = d.record(origin: "dead2", feed: "f3", unreachable: true, now: t0 + 2)
    _ = d.record(origin: "dead3", feed: "f4", unreachable: true, now: t0 + 3)
    #expect(!d.isDown)
    // Old events leave the window.
    var e = OutageDetector()
    _ = e.record(origin: "a", feed: "fa", unreachable: true, now: t0)
    _ = e.record(origin: "b", feed: "fb", unreachable: true, now: t0 + 1)
    _ = e.record(origin: "c", feed: "fc", unreachable: true, now: t0 + 600)
    #expect(!e.isDown)
  }

  @Test func aDayOfPollingAnHourlyFeedMakesAboutTwentyFourRequests() {
    var f = state()
    var now = t0
    var polls = 0
    let end = t0.addingTimeInterval(86400)
    while now < end {
      if s.isDue(f, now: now, force: false) {
        polls += 1
        s.record(.notModified(FeedHints()), into: &f, configured: nil, global: hour, now: now)
      }
      now = now.addingTimeInterval(60)
    }
    #expect(polls >= 21 && polls <= 24)
  }
}

enum HeaderHintsProbe {
  static func apply(_ pairs: [String: String], _ h: inout FeedHints, _ now: Date) {
    HeaderHints.apply(HTTPHeaders(pairs: pairs.map { ($0.key, $0.value) }), to: &h, now: now)
  }
}

struct DueQueueTests {
  @Test func popsDueJobsInOrderAndHonoursReschedulesAndRemovals() {
    let t0 = Date(timeIntervalSince1970: 1_000_000)
    var q = DueQueue()
    for i in (0..<100).shuffled() { q.schedule("j\(i)", at: t0 + Double(i)) }
    q.schedule("j5", at: t0 + 500)  // moved later
    q.remove("j7")
    #expect(q.earliest() == t0)
    let due = q.popDue(t0 + 9)
    #expect(due == ["j0", "j1", "j2", "j3", "j4", "j6", "j8", "j9"])
    #expect(q.earliest() == t0 + 10)
    let rest = q.popDue(t0 + 1000)
    #expect(rest.count == 100 - 8 - 1)
    #expect(rest.last == "j5")
    #expect(q.isEmpty)
  }
}

struct OriginGateTests {
  /// Counts how many bodies run at once, per origin.
  actor Probe {
    var now: [String: Int] = [:]
    var peak: [String: Int] = [:]
    var starts: [String: [ContinuousClock.Instant]] = [:]
    func enter(_ o: String) {
      now[o, default: 0] += 1
      peak[o] = max(peak[o] ?? 0, now[o]!)
      starts[o, default: []].append(.now)
    }
    func leave(_ o: String) { now[o, default: 0] -= 1 }
  }

  @Test func atMostTheLimitInFlightPerOriginAndOthersNotHeldUp() async {
    let gate = OriginGate(limit: 2, spacing: .zero)
    let probe = Probe()
    await withTaskGroup(of: Void.self) { g in
      for i in 0..<12 {
        let origin = i % 3 == 0 ? "https://b.example:443" : "https://a.example:443"
        g.addTask {
          await gate.with(origin) {
            await probe.enter(origin)
            try? await Task.sleep(for: .milliseconds(20))
            await probe.leave(origin)
          }
        }
      }
    }
    #expect(await probe.peak["https://a.example:443"] == 2)
    #expect(await probe.peak["https://b.example:443"] ?? 0 <= 2)
    #expect(await probe.starts["https://b.example:443"]?.count == 4)
  }

  @Test func requestsToOneOriginAreSpacedApart() async {
    let gate = OriginGate(limit: 4, spacing: .milliseconds(100))
    let probe = Probe()
    let begin = ContinuousClock.now
    await withTaskGroup(of: Void.self) { g in
      for _ in 0..<4 {
        g.addTask { await gate.with("o") { await probe.enter("o") } }
      }
    }
    // The gate grants the 4th request no sooner than 3 spacings after the 1st, itself
    // granted after `begin`: a lower bound that holds however loaded the machine is.
    let starts = (await probe.starts["o"] ?? []).sorted()
    #expect(starts.count == 4)
    if let last = starts.last { #expect(last - begin >= .milliseconds(295)) }
  }

}
