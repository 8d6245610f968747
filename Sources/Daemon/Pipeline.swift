import Articles
import Extract
import Feeds
import Foundation
import HTTP
import Logging
import Spool
import Synchronization

/// The way of one feed or page: fetch, parse or extract, build articles, deliver,
/// remember. Shared by `run --once` and the daemon.
public final class Pipeline: Sendable {
  private let current: Mutex<Config>
  /// The configuration in force (replaced by `apply` on reload).
  public var config: Config { current.withLock { $0 } }
  let fetcher: Fetcher
  let spool: Spool
  let store: FeedStateStore
  let logger: Logger
  let scheduler = FeedScheduler()
  let gate: OriginGate
  /// One large document (`largeDocument` bytes or more) parsed or extracted at a time:
  /// each takes several times its size while it is read (an 8.5 MB page of paragraphs
  /// 126 MB), and eight 9.7 MB feeds read at once took the daemon to 296 MB. Bodies wait
  /// here already fetched; small ones never wait.
  let largeWork = OriginGate(limit: 1, spacing: .zero)
  static let largeDocument = 1 << 20
  private let outage = Mutex(OutageDetector())

  /// True while the network looks down (see `OutageDetector`).
  public var networkDown: Bool { outage.withLock { $0.isDown } }
  public var probeDelay: TimeInterval { outage.withLock { $0.probeDelay } }

  public static let version = "0.1.0"
  public static let defaultUserAgent =
    "feedspool/\(version) (+https://github.com/feedspool/feedspool)"

  public init(config: Config, logger: Logger) throws {
    current = Mutex(config)
    self.logger = logger
    spool = try Spool(directory: config.spool, stateDirectory: config.state)
    store = try FeedStateStore(directory: config.state, originGroups: config.network.groups)
    if store.skippedLines > 0 {
      logger.warning(
        "feed state: lines that did not read back were skipped; their feeds are fetched afresh",
        metadata: ["lines": "\(store.skippedLines)", "path": "\(store.path)"])
    }
    gate = OriginGate(
      limit: config.network.perOrigin, spacing: .seconds(config.network.spacing))
    fetcher = Fetcher(
      userAgent: config.userAgent ?? Self.defaultUserAgent,
      policy: NetworkPolicy(allow: config.network.allow))
  }

  /// Takes a reloaded config. Spool, state, user agent and `network` stay
  /// as they were started (they need a restart); returns what was not applied.
  public func apply(_ new: Config) -> [String] {
    var ignored: [String] = []
    current.withLock { c in
      if new.spool != c.spool { ignored.append("spool") }
      if new.state != c.state { ignored.append("state") }
      if new.userAgent != c.userAgent { ignored.append("userAgent") }
      if new.network != c.network { ignored.append("network") }
      var next = new
      next.spool = c.spool
      next.state = c.state
      next.userAgent = c.userAgent
      next.network = c.network
      c = next
    }
    return ignored
  }

  var limits: FetchLimits {
    FetchLimits(
      maxBodyBytes: config.limits.maxBodyBytes,
      connectTimeout: .seconds(config.limits.connectTimeout),
      totalTimeout: .seconds(config.limits.timeout))
  }

  func interval(_ feed: Config.FeedConfig) -> TimeInterval {
    TimeInterval(feed.interval ?? config.interval)
  }

  public func state(of url: String) -> FeedState { store[url] }
  public var states: [FeedState] { store.all }
  public func flush() {
    do { try store.flush() } catch {
      logger.error("cannot write feed state", metadata: ["error": "\(error)"])
    }
  }
  public func shutdown() { fetcher.shutdown() }
  /// Articles in the spool (delivered over its whole life).
  public var deliveredCount: Int { spool.count }

  /// Outcome counts of one poll, for logs and `--once` summaries.
  public struct Outcome: Sendable {
    public var delivered = 0
    public var status = ""
    /// Not fetched: retired, or its origin asked to wait.
    public var skipped = false
  }

  /// Fetches one feed (conditionally), delivers its new articles, updates its state.
  /// The caller decided it is due; the origin's wait and retirement still hold.
  public func poll(_ feed: Config.FeedConfig) async -> Outcome {
    let state = store[feed.url]
    let now = Date()
    var log = logger
    log[metadataKey: "feed.url"] = "\(feed.url)"
    if state.retired == true { return Outcome(status: "gone", skipped: true) }
    let url = state.movedTo ?? feed.url
    if let until = store.originWait(for: url, now: now) {
      store.update(feed.url) { s in s.nextDue = max(s.nextDue ?? until, until) }
      log.debug("origin asked to wait", metadata: ["until": "\(until)"])
      return Outcome(status: "waiting", skipped: true)
    }
    if url != feed.url { log[metadataKey: "feed.moved_to"] = "\(url)" }
    // A feed that moved is fetched at an address that came from the network (a redirect):
    // screened, as that redirect was, every time.
    let request = FetchRequest(
      url: url, etag: state.etag, lastModified: state.lastModified, trusted: url == feed.url,
      limits: limits,
      accept:
        "application/rss+xml, application/atom+xml, application/feed+json, application/xml;q=0.9, text/xml;q=0.8, */*;q=0.5"
    )
    let origin = store.originKey(url)
    let started = ContinuousClock.now
    let result = await gate.with(origin) { await self.fetcher.fetch(request) }
    let elapsed = ContinuousClock.now - started
    Telemetry.fetched(
      feed: feed.url, origin: origin,
      outcome: result.response.map { "\($0.status)" } ?? result.failure?.kind.rawValue ?? "error",
      bytes: result.response?.body.count ?? 0,
      seconds: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
    if let r = result.response {
      store.update(feed.url) { s in
        scheduler.recordRedirects(r.redirects.map { ($0.status, $0.to) }, into: &s)
      }
    }
    let unreachable = result.failure.map { $0.kind == .dns || $0.kind == .connect } ?? false
    let (forgive, down) = outage.withLock { o in
      (o.record(origin: origin, feed: feed.url, unreachable: unreachable, now: now), o.isDown)
    }
    for f in forgive where f != feed.url {
      store.update(f) { s in s.errorCount = max(0, s.errorCount - 1) }
    }
    if unreachable && down {
      // Our own network is down: no feed is penalized; the daemon probes.
      let delay = probeDelay
      store.update(feed.url) { s in
        s.lastFetch = now
        s.lastStatus = "offline"
        s.lastError = result.failure?.message
        s.nextDue = now.addingTimeInterval(delay + scheduler.jitter(feed.url, delay))
      }
      log.warning("network looks down; not counted against the feed")
      return Outcome(delivered: 0, status: "offline")
    }
    switch result {
    case .notModified(let r):
      var hints = state.hints ?? FeedHints()
      HeaderHints.apply(r.headers, to: &hints, now: now)
      store.update(feed.url) { s in
        if let e = r.headers["etag"] { s.etag = e }
        if let l = r.headers["last-modified"] { s.lastModified = l }
        s.lastStatus = "304"
        s.lastError = nil
        record(.notModified(hints), feed, &s, now)
      }
      log.debug("not modified", metadata: ["http.status": "304"])
      return Outcome(delivered: 0, status: "304")

    case .fetched(let r):
      // A large document is parsed and made into articles holding `largeWork` (let go
      // while its item pages are fetched).
      let isLarge = r.body.count >= Self.largeDocument
      if isLarge { await largeWork.acquire("large") }
      let parsed: ParsedFeed
      do {
        parsed = try FeedParser.parse(r.body, url: r.url, contentType: r.headers["content-type"])
      } catch {
        if isLarge { await largeWork.release("large") }
        return failed(feed, .failed, now: now, status: "not a feed", message: "\(error)", log: log)
      }
      if parsed.droppedItems > 0 {
        log.warning(
          "items past the first \(FeedParser.maxItems) of the document ignored",
          metadata: ["count": "\(parsed.droppedItems)"])
      }
      let from = ArticleOrigin(feedURL: feed.url, topics: feed.topics, category: feed.category)
      var fresh: [(item: FeedItem, link: (original: String, canonical: String), key: URLKey)] = []
      var skipped = 0
      var duplicates = 0
      for item in parsed.entries {
        guard let link = ArticleBuilder.links(of: item, base: r.url) else {
          skipped += 1
          continue
        }
        let (key, delivered) = ArticleBuilder.lookUp(link.canonical, in: spool)
        if delivered {
          duplicates += 1
          continue
        }
        fresh.append((item, link, key))
      }
      var built = [PendingArticle?](repeating: nil, count: fresh.count)
      var made = 0
      var held = 0
      var delivered: [DeliveryRecord] = []
      var spoolError: SpoolError?
      func build(_ n: Int, _ page: (ExtractedPage, String)?) {
        let f = fresh[n]
        if let a = ArticleBuilder.fromItem(
          f.item, feed: parsed, feedURL: r.url, origin: from, fetched: now, page: page?.0,
          pageMarkdown: page?.1, links: f.link)
        {
          let p = ArticleBuilder.pending(a, key: f.key)
          built[n] = p
          made += 1
          held += p.contents.utf8.count
        }
      }
      // Delivers what is built so far, in feed order; after a failure, nothing more.
      func deliverBuilt() async {
        guard spoolError == nil else { return }
        let articles = built.compactMap { $0 }
        built = built.map { _ in nil }
        held = 0
        do {
          delivered += try await spool.deliver(articles)
        } catch {
          spoolError = error
        }
      }
      if feed.fullText {
        // Each article is made as its page comes (not holding `largeWork` meanwhile), and
        // delivered before the poll ends once those held pass `heldArticleBytes`.
        if isLarge { await largeWork.release("large") }
        await fetchPages(fresh.map(\.link.original), log: log) { n, page in
          build(n, page)
          if held >= Self.heldArticleBytes { await deliverBuilt() }
          return spoolError == nil  // no more pages once nothing can be delivered
        }
      } else {
        for n in fresh.indices { build(n, nil) }
        if isLarge { await largeWork.release("large") }
      }
      await deliverBuilt()
      Telemetry.delivered(
        feed: feed.url, count: delivered.count,
        duplicates: duplicates + (spoolError == nil ? made - delivered.count : 0))
      for d in delivered {
        log.info(
          "delivered", metadata: ["article.path": "new/\(d.name)", "article.seq": "\(d.seq)"])
      }
      if let error = spoolError {
        // Nothing more marked seen and the validators are kept: the next fetch retries
        // (what was delivered before the failure is not delivered again).
        log.error("delivery failed", metadata: ["error": "\(error)"])
        Telemetry.spoolError()
        // Our disk, not the feed: no error counted against it, retried in a minute.
        store.update(feed.url) { s in
          s.lastFetch = now
          s.lastStatus = "spool error"
          s.lastError = "\(error)"
          s.delivered += delivered.count
          s.nextDue = now.addingTimeInterval(60)
        }
        return Outcome(delivered: delivered.count, status: "spool error")
      }
      var hints = FeedHints.from(parsed)
      HeaderHints.apply(r.headers, to: &hints, now: now)
      hints.observedInterval = FeedScheduler.observedInterval(
        parsed.entries.compactMap { $0.published ?? $0.updated })
      store.update(feed.url) { s in
        s.lastStatus = "\(r.status)"
        s.lastError = parsed.bozo ? parsed.bozoMessage.map { "recovered: \($0)" } : nil
        s.etag = r.headers["etag"]
        s.lastModified = r.headers["last-modified"]
        s.title = parsed.title.map { HTMLText.plainText(fromHTML: $0) }
        s.delivered += delivered.count
        record(.ok(hints), feed, &s, now)
      }
      if skipped > 0 {
        log.notice("items without a usable link skipped", metadata: ["count": "\(skipped)"])
      }
      return Outcome(delivered: delivered.count, status: "\(r.status)")

    case .httpStatus(let r):
      let retryAfter = RetryAfter.parse(r.headers["retry-after"], now: now)
      let poll: PollResult
      switch r.status {
      case 410: poll = .gone
      case 429: poll = .rateLimited(retryAfter: retryAfter)
      case 503 where retryAfter != nil: poll = .rateLimited(retryAfter: retryAfter)
      default: poll = .httpError(r.status, retryAfter: retryAfter)
      }
      if case .rateLimited(let wait) = poll {
        store.blockOrigin(url, until: now.addingTimeInterval(max(wait ?? 3600, 60)))
      }
      if r.status == 410 {
        log.notice("feed is gone (410): retired", metadata: ["http.status": "410"])
      }
      return failed(
        feed, poll, now: now, status: "\(r.status)", message: "HTTP \(r.status)", log: log)

    case .failed(let f):
      let poll: PollResult = (f.kind == .dns || f.kind == .connect) ? .unreachable : .failed
      return failed(feed, poll, now: now, status: f.kind.rawValue, message: f.message, log: log)
    }
  }

  private func record(
    _ result: PollResult, _ feed: Config.FeedConfig, _ s: inout FeedState, _ now: Date
  ) {
    scheduler.record(
      result, into: &s, configured: feed.interval.map(TimeInterval.init),
      global: TimeInterval(config.interval), now: now)
  }

  private func failed(
    _ feed: Config.FeedConfig, _ result: PollResult, now: Date, status: String, message: String,
    log: Logger
  ) -> Outcome {
    store.update(feed.url) { s in
      s.lastStatus = status
      s.lastError = message
      record(result, feed, &s, now)
    }
    log.warning("fetch failed", metadata: ["http.status": "\(status)", "error": "\(message)"])
    return Outcome(delivered: 0, status: status)
  }

  /// Item pages fetched at once for one poll of a `fullText` feed.
  static let pagesInFlight = 4

  /// Bytes of built articles a `fullText` poll holds before delivering them (an article
  /// from a page is at most about 1 MiB: `HTMLText.maxHTMLBytes`): a poll of 25 large
  /// pages held 25 MB of articles when all were delivered at its end.
  static let heldArticleBytes = 8 << 20

  /// The time one poll may spend fetching item pages. A page not fetched by then (or
  /// that fails) leaves its article with the feed's own text: pages that stall or drip
  /// (each cut at the fetch timeout) made one poll of a six-item feed take 150 s, and
  /// would hold a 1,000-item feed for hours while other feeds waited.
  var pageBudget: Duration { .seconds(2 * config.limits.timeout) }

  /// The pages of `urls` (nil where none was had), `pagesInFlight` at a time, within
  /// `pageBudget`: a fetch started late gets only the time left. `each` is given every
  /// page as it comes (the next fetch already started); when it answers false, no more
  /// fetches are started.
  func fetchPages(
    _ urls: [String], log: Logger, each: (Int, (ExtractedPage, String)?) async -> Bool
  ) async {
    guard !urls.isEmpty else { return }
    let deadline = ContinuousClock.now + pageBudget
    var missing = 0
    await withTaskGroup(of: (Int, (ExtractedPage, String)?).self) { group in
      var next = 0
      var going = true
      func start() {
        let n = next
        next += 1
        let left = deadline - ContinuousClock.now
        guard left > .seconds(1) else {
          group.addTask { (n, nil) }
          return
        }
        group.addTask { (n, await self.fetchPage(urls[n], log: log, within: left)) }
      }
      while next < min(urls.count, Self.pagesInFlight) { start() }
      while let (n, page) = await group.next() {
        if page == nil { missing += 1 }
        // Used at once: a poll of 25 pages of 8 MB held them all (557 MB) when they
        // were kept until the last one came.
        if next < urls.count && going { start() }
        if !(await each(n, page)) { going = false }
      }
    }
    if ContinuousClock.now >= deadline, missing > 0 {
      log.notice("item pages: time budget spent", metadata: ["pages.missing": "\(missing)"])
    }
  }

  /// Fetches an article page that came from the network (an item link): untrusted,
  /// so the network policy applies to every hop.
  func fetchPage(_ url: String, log: Logger, within budget: Duration? = nil) async -> (
    ExtractedPage, String
  )? {
    var limits = self.limits
    if let budget, budget < limits.totalTimeout { limits.totalTimeout = budget }
    let request = FetchRequest(
      url: url, trusted: false, limits: limits, accept: "text/html, */*;q=0.5")
    let result = await gate.with(store.originKey(url)) { await self.fetcher.fetch(request) }
    guard case .fetched(let r) = result else {
      log.notice("full text not fetched", metadata: ["page.url": "\(url)"])
      return nil
    }
    return await large(r.body.count) { self.extract(r) }
  }

  /// `work` over a document of `size` bytes, holding `largeWork` when it is large.
  func large<T: Sendable>(_ size: Int, _ work: @Sendable () -> T) async -> T {
    guard size >= Self.largeDocument else { return work() }
    return await largeWork.with("large") { work() }
  }

  func extract(_ r: HTTPResponse) -> (ExtractedPage, String)? {
    guard
      let page = try? Extractor.extract(r.body, url: r.url, contentType: r.headers["content-type"])
    else { return nil }
    let md = MarkdownConverter.convert(html: page.contentHTML, baseURL: r.url).markdown
    if md.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { return nil }
    return (page, md)
  }

  /// Fetches a configured article page once and delivers it.
  public func fetchArticle(_ cfg: Config.ArticleConfig) async -> Outcome {
    let key = "article:" + cfg.url
    let now = Date()
    var log = logger
    log[metadataKey: "page.url"] = "\(cfg.url)"
    let request = FetchRequest(
      url: cfg.url, trusted: true, limits: limits, accept: "text/html, */*;q=0.5")
    let result = await gate.with(store.originKey(cfg.url)) { await self.fetcher.fetch(request) }
    switch result {
    case .fetched(let r):
      guard let (page, md) = await large(r.body.count, { self.extract(r) }),
        let a = ArticleBuilder.fromPage(
          page, markdown: md, finalURL: r.url, requestedURL: cfg.url,
          origin: ArticleOrigin(feedURL: nil, topics: cfg.topics, category: cfg.category),
          fetched: now)
      else {
        store.update(key) { s in
          s.lastFetch = now
          s.lastStatus = "unextractable"
          s.errorCount += 1
          s.nextDue = scheduler.backoff(
            s, configured: nil, global: TimeInterval(config.interval), now: now, at: nil)
        }
        return Outcome(delivered: 0, status: "unextractable")
      }
      do {
        let d = try await spool.deliver([ArticleBuilder.pending(a)])
        store.update(key) { s in
          s.lastFetch = now
          s.lastStatus = "\(r.status)"
          s.done = true
          s.errorCount = 0
          s.delivered += d.count
        }
        for x in d { log.info("delivered", metadata: ["article.path": "new/\(x.name)"]) }
        return Outcome(delivered: d.count, status: "\(r.status)")
      } catch {
        log.error("delivery failed", metadata: ["error": "\(error)"])
        return Outcome(delivered: 0, status: "spool-error")
      }
    default:
      let status =
        result.response.map { "\($0.status)" } ?? result.failure?.kind.rawValue ?? "error"
      store.update(key) { s in
        s.lastFetch = now
        s.lastStatus = status
        s.errorCount += 1
        s.nextDue = scheduler.backoff(
          s, configured: nil, global: TimeInterval(config.interval), now: now, at: nil)
        if result.response?.status == 410 { s.retired = true }
      }
      log.warning("article fetch failed", metadata: ["http.status": "\(status)"])
      return Outcome(delivered: 0, status: status)
    }
  }

  /// Article pages still to fetch now.
  func articleIsDue(_ cfg: Config.ArticleConfig, now: Date) -> Bool {
    let s = store["article:" + cfg.url]
    if s.done == true { return false }
    return scheduler.isDue(s, now: now, force: false)
  }
}

/// Retry-After: seconds or an HTTP-date, at most `OriginBook.longestWait` ahead.
enum RetryAfter {
  static func parse(_ value: String?, now: Date) -> TimeInterval? {
    guard let v = value?.trimmingCharacters(in: .whitespaces), !v.isEmpty else { return nil }
    let wait: TimeInterval
    if v.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) {
      wait = Double(v) ?? .infinity  // digits beyond Int's range too
    } else if let d = FeedDate.parse(v) {
      wait = d.timeIntervalSince(now)
    } else {
      return nil
    }
    return min(max(0, wait), OriginBook.longestWait)
  }
}
