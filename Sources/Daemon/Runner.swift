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
    let feeds = config.feeds.filter { pipeline.scheduler.isDue(pipeline.state(of: $0.url), now: now, force: force) }
    let pages = config.articles.filter { pipeline.articleIsDue($0, now: force ? .distantFuture : now) }
    enum Job: Sendable {
      case feed(Config.FeedConfig)
      case page(Config.ArticleConfig)
    }
    let jobs = feeds.map(Job.feed) + pages.map(Job.page)
    var summary = RoundSummary()
    await withTaskGroup(of: Pipeline.Outcome.self) { group in
      var next = 0
      func start() {
        let job = jobs[next]
        next += 1
        group.addTask {
          switch job {
          case .feed(let f): return await self.pipeline.poll(f)
          case .page(let p): return await self.pipeline.fetchArticle(p)
          }
        }
      }
      while next < min(config.jobs, jobs.count) { start() }
      for await outcome in group {
        summary.polled += 1
        summary.delivered += outcome.delivered
        if !(outcome.status.hasPrefix("2") || outcome.status == "304") { summary.failed += 1 }
        if next < jobs.count { start() }
      }
    }
    pipeline.flush()
    return summary
  }

  enum Event: Sendable {
    case tick
    case done(String)
    case stop(Int32)
    case reload
  }

  /// The daemon: a Dispatch timer wakes the loop when the earliest feed is due; due
  /// feeds start (at most `config.jobs` at once); SIGTERM/SIGINT cancel transfers,
  /// wait for running deliveries and write the state. Returns when stopped.
  public func runForever() async {
    let (events, sink) = AsyncStream<Event>.makeStream()
    let queue = DispatchQueue(label: "feedspool.scheduler")
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
    hup.setEventHandler { sink.yield(.reload) }
    hup.resume()
    sources.append(hup)

    let timer = DispatchSource.makeTimerSource(queue: queue)
    timer.setEventHandler { sink.yield(.tick) }
    timer.schedule(deadline: .now())
    timer.resume()
    let flusher = DispatchSource.makeTimerSource(queue: queue)
    flusher.setEventHandler { [pipeline] in pipeline.flush() }
    flusher.schedule(deadline: .now() + 2, repeating: 2)
    flusher.resume()

    logger.info(
      "feedspool running",
      metadata: ["feeds": "\(config.feeds.count)", "articles": "\(config.articles.count)"])

    await withTaskGroup(of: Void.self) { group in
      var running = Set<String>()
      loop: for await event in events {
        switch event {
        case .stop(let sig):
          logger.info("stopping", metadata: ["signal": "\(sig)"])
          pipeline.shutdown()
          break loop
        case .reload:
          logger.notice("reload requested: restart the service to apply config changes (for now)")
        case .done(let id):
          running.remove(id)
        case .tick:
          break
        }
        // Start what is due.
        let now = Date()
        for f in config.feeds
        where running.count < config.jobs && !running.contains(f.url)
          && pipeline.scheduler.isDue(pipeline.state(of: f.url), now: now, force: false)
        {
          running.insert(f.url)
          group.addTask {
            _ = await self.pipeline.poll(f)
            sink.yield(.done(f.url))
          }
        }
        for p in config.articles
        where running.count < config.jobs && !running.contains("article:" + p.url)
          && pipeline.articleIsDue(p, now: now)
        {
          running.insert("article:" + p.url)
          group.addTask {
            _ = await self.pipeline.fetchArticle(p)
            sink.yield(.done("article:" + p.url))
          }
        }
        // Sleep until the earliest due time of an idle feed (at most an hour).
        var wake = now.addingTimeInterval(3600)
        for f in config.feeds where !running.contains(f.url) {
          if let d = pipeline.state(of: f.url).nextDue, d < wake { wake = d }
        }
        for p in config.articles where !running.contains("article:" + p.url) {
          let s = pipeline.state(of: "article:" + p.url)
          if s.done != true, let d = s.nextDue, d < wake { wake = d }
        }
        let delay = max(0.05, wake.timeIntervalSince(Date()))
        timer.schedule(deadline: .now() + delay)
      }
      await group.waitForAll()
    }
    timer.cancel()
    flusher.cancel()
    for s in sources { s.cancel() }
    pipeline.flush()
    logger.info("stopped")
  }
}
