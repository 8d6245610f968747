import Dispatch
import Foundation
import Logging

/// Runs the pipeline over the configured feeds: once (`run --once`) or as a daemon
/// whose schedule is kept by a Dispatch timer, until SIGTERM/SIGINT.
public final class Runner: Sendable {
  let pipeline: Pipeline
  let logger: Logger

  public init(pipeline: Pipeline, logger: Logger) {
    self.pipeline = pipeline
    self.logger = logger
  }

  var config: Config { pipeline.config }

  public struct RoundSummary: Sendable {
    public var polled = 0
    public var delivered = 0
    public var failed = 0
  }

  /// Every feed and article page that is due (all but finished pages with `force`),
  /// `config.jobs` at a time, then the state is written.
  public func runOnce(force: Bool) async -> RoundSummary {
    let now = Date()
    let config = config
    // Indices, not copies of the entries (10,000 feeds: a megabyte each copy).
    let feeds = config.feeds.indices.filter {
      pipeline.scheduler.isDue(pipeline.state(of: config.feeds[$0].url), now: now, force: force)
    }
    let pages = config.articles.indices.filter {
      pipeline.articleIsDue(config.articles[$0], now: force ? .distantFuture : now)
    }
    let count = feeds.count + pages.count
    var summary = RoundSummary()
    await withTaskGroup(of: Pipeline.Outcome.self) { group in
      var next = 0
      func start() {
        let job =
          next < feeds.count
          ? Job.feed(config.feeds[feeds[next]])
          : Job.page(config.articles[pages[next - feeds.count]])
        next += 1
        group.addTask {
          switch job {
          case .feed(let f): return await self.pipeline.poll(f)
          case .page(let p): return await self.pipeline.fetchArticle(p)
          }
        }
      }
      while next < min(config.jobs, count) { start() }
      for await outcome in group {
        summary.polled += 1
        summary.delivered += outcome.delivered
        if !(outcome.status.hasPrefix("2") || outcome.status == "304") { summary.failed += 1 }
        if next < count { start() }
      }
    }
    pipeline.flush()
    return summary
  }

  enum Event: Sendable {
    case tick
    case done(String)
    case stop(Int32)
    case reload(String)
    case watchdog
  }

  /// The daemon: a Dispatch timer wakes the loop when the earliest feed is due; due
  /// feeds start (at most `config.jobs` at once). SIGHUP or a change of the config
  /// file reloads it (an invalid file is refused and the old config keeps running).
  /// SIGTERM/SIGINT cancel transfers, wait for running deliveries, write the state
  /// and return. Under systemd it reports READY, STATUS, WATCHDOG (from this loop,
  /// so a stuck loop stops the pings), RELOADING and STOPPING.
  public func runForever(configFile: String?) async {
    let (events, sink) = AsyncStream<Event>.makeStream()
    let queue = DispatchQueue(label: "feedspool.scheduler")
    let notify = SystemdNotify()
    var sources: [any DispatchSourceProtocol] = []
    for sig in [SIGTERM, SIGINT] {
      signal(sig, SIG_IGN)
      let s = DispatchSource.makeSignalSource(signal: sig, queue: queue)
      s.setEventHandler { sink.yield(.stop(sig)) }
      s.resume()
      sources.append(s)
    }
    signal(SIGHUP, SIG_IGN)
    let hup = DispatchSource.makeSignalSource(signal: SIGHUP, queue: queue)
    hup.setEventHandler { sink.yield(.reload("SIGHUP")) }
    hup.resume()
    sources.append(hup)
    let watcher = configFile.flatMap { file in
      ConfigWatcher(file: file) { sink.yield(.reload("file changed")) }
    }

    let timer = DispatchSource.makeTimerSource(queue: queue)
    timer.setEventHandler { sink.yield(.tick) }
    timer.schedule(deadline: .now())
    timer.resume()
    let flusher = DispatchSource.makeTimerSource(queue: queue)
    flusher.setEventHandler { [pipeline] in pipeline.flush() }
    flusher.schedule(deadline: .now() + 2, repeating: 2)
    flusher.resume()
    sources.append(flusher)
    if let wd = notify.watchdogInterval {
      let w = DispatchSource.makeTimerSource(queue: queue)
      w.setEventHandler { sink.yield(.watchdog) }
      w.schedule(deadline: .now(), repeating: wd)
      w.resume()
      sources.append(w)
    }

    logger.info(
      "feedspool running",
      metadata: ["feeds": "\(config.feeds.count)", "articles": "\(config.articles.count)"])
    var announced = false
    var delivered = 0
    var polls = 0

    await withTaskGroup(of: Void.self) { group in
      var running = Set<String>()
      var agenda = DueQueue()
      var ready: [String] = []  // due, waiting for a free slot, in due order
      var readySet = Set<String>()
      func plan(_ id: String) {
        guard !running.contains(id), !readySet.contains(id) else { return }
        if let due = nextDue(id) { agenda.schedule(id, at: due) } else { agenda.remove(id) }
      }
      func planAll() {
        agenda = DueQueue()
        for f in config.feeds { plan("feed:" + f.url) }
        for p in config.articles { plan("article:" + p.url) }
        ready.removeAll { jobs[$0] == nil }
        readySet = Set(ready)
      }
      var jobs = jobTable()
      planAll()
      loop: for await event in events {
        switch event {
        case .stop(let sig):
          logger.info("stopping", metadata: ["signal": "\(sig)"])
          notify.stopping()
          pipeline.shutdown()
          break loop
        case .reload(let why):
          notify.reloading()
          reload(configFile, why: why)
          jobs = jobTable()
          planAll()
          notify.ready(status: statusLine(running.count, polls, delivered))
        case .done(let id):
          running.remove(id)
          polls += 1
          if jobs[id] != nil { plan(id) }
        case .watchdog:
          notify.watchdog()
          continue loop
        case .tick:
          break
        }
        // Start what is due; while the network is down, one job at a time probes it.
        let now = Date()
        for id in agenda.popDue(now) where readySet.insert(id).inserted { ready.append(id) }
        let limit = pipeline.networkDown ? 1 : config.jobs
        while running.count < limit, !ready.isEmpty {
          let id = ready.removeFirst()
          readySet.remove(id)
          guard let job = jobs[id] else { continue }
          running.insert(id)
          group.addTask {
            switch job {
            case .feed(let f): _ = await self.pipeline.poll(f)
            case .page(let p): _ = await self.pipeline.fetchArticle(p)
            }
            sink.yield(.done(id))
          }
        }
        delivered = pipeline.deliveredCount
        if !announced {
          notify.ready(status: statusLine(running.count, polls, delivered))
          announced = true
        } else {
          notify.status(statusLine(running.count, polls, delivered))
        }
        // Sleep until the earliest due time (at most an hour).
        let wake = min(agenda.earliest() ?? .distantFuture, now.addingTimeInterval(3600))
        timer.schedule(deadline: .now() + max(0.05, wake.timeIntervalSince(Date())))
      }
      await group.waitForAll()
    }
    watcher?.cancel()
    timer.cancel()
    for s in sources { s.cancel() }
    pipeline.flush()
    logger.info("stopped")
  }

  enum Job: Sendable {
    case feed(Config.FeedConfig)
    case page(Config.ArticleConfig)
  }

  /// Every configured job by id (`feed:URL`, `article:URL`).
  func jobTable() -> [String: Job] {
    var t: [String: Job] = [:]
    for f in config.feeds { t["feed:" + f.url] = .feed(f) }
    for p in config.articles { t["article:" + p.url] = .page(p) }
    return t
  }

  /// When a job is next due; nil when it never is (retired feed, finished page).
  func nextDue(_ id: String) -> Date? {
    if id.hasPrefix("feed:") {
      let s = pipeline.state(of: String(id.dropFirst(5)))
      if s.retired == true { return nil }
      return s.nextDue.map { pipeline.scheduler.sane($0, now: Date()) } ?? .distantPast
    }
    let s = pipeline.state(of: id)
    if s.done == true { return nil }
    return s.nextDue.map { pipeline.scheduler.sane($0, now: Date()) } ?? .distantPast
  }

  func statusLine(_ running: Int, _ polls: Int, _ delivered: Int) -> String {
    "\(config.feeds.count) feeds, \(running) fetching, \(polls) polls, \(delivered) articles in spool"
  }

  /// Re-reads the config; an invalid file is refused and the running one kept.
  func reload(_ file: String?, why: String) {
    guard let file else { return }
    do {
      let new = try Config.load(file: file)
      let old = config
      let ignored = pipeline.apply(new)
      let before = Set(old.feeds.map(\.url))
      let after = Set(new.feeds.map(\.url))
      logger.notice(
        "config reloaded",
        metadata: [
          "reason": "\(why)", "feeds.added": "\(after.subtracting(before).count)",
          "feeds.removed": "\(before.subtracting(after).count)",
          "feeds.kept": "\(after.intersection(before).count)",
        ])
      if !ignored.isEmpty {
        logger.warning(
          "config changes that need a restart were not applied",
          metadata: ["keys": "\(ignored.joined(separator: ","))"])
      }
    } catch {
      logger.error(
        "config reload refused; the running config stays",
        metadata: ["reason": "\(why)", "error": "\(error)"])
    }
  }
}
