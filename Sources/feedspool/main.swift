import ArgumentParser
import Daemon
import Extract
import Feeds
import Foundation
import HTTP
import Logging
import Spool

#if canImport(Glibc)
  import CMalloc
  import Glibc
#endif

struct ConfigOption: ParsableArguments {
  @Option(
    name: .long,
    help:
      "Config file (default: $FEEDSPOOL_CONFIG, /etc/feedspool/feedspool.yaml, ./Config/feedspool.yaml)."
  )
  var config: String?

  func load() throws -> Config {
    let path = Config.locate(config)
    do {
      return try Config.load(file: path)
    } catch {
      FileHandle.standardError.write(Data("feedspool: invalid config\n\(error)\n".utf8))
      throw ExitCode(2)
    }
  }
}

func makeLogger(level: String) -> Logger {
  LoggingSystem.bootstrap { label in
    var h = StreamLogHandler.standardError(label: label)
    h.logLevel = Logger.Level(rawValue: level) ?? .info
    return h
  }
  var l = Logger(label: "feedspool")
  l.logLevel = Logger.Level(rawValue: level) ?? .info
  return l
}

@main
struct Feedspool: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "feedspool",
    abstract:
      "Follows feeds and article pages, and delivers each new article as a file into a spool.",
    version: Pipeline.version,
    subcommands: [
      Run.self, Parse.self, Extract.self, Tail.self, Check.self, Add.self, Remove.self, List.self,
      Status.self, ImportOPML.self, ExportOPML.self, BenchSeen.self, BenchBuild.self,
    ])
}

struct Run: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Run the daemon (until SIGTERM), or one round with --once.")
  @OptionGroup var options: ConfigOption
  @Flag(help: "Fetch every feed that is due, once, and exit.") var once = false
  @Flag(help: "With --once: also fetch feeds that are not yet due.") var force = false

  func validate() throws {
    if force && !once { throw ValidationError("--force goes with --once") }
  }

  func run() async throws {
    #if canImport(Glibc)
      // Buffers of 1 MiB or more (fetched bodies, parsed documents) are mapped and given
      // back when freed. glibc otherwise raises its mapping threshold to the largest
      // buffer freed so far and serves later ones from per-thread arenas, which keep the
      // memory: a poll of 25 item pages of 8.4 MB peaked at 268 MB, 129 MB with this.
      _ = mallopt(M_MMAP_THRESHOLD, 1 << 20)
    #endif
    let config = try options.load()
    let env = ProcessInfo.processInfo.environment
    let logger = makeLogger(level: env["FEEDSPOOL_LOG_LEVEL"] ?? config.logLevel)
    for w in config.warnings { logger.warning("config: \(w)") }
    let pipeline: Pipeline
    do {
      pipeline = try Pipeline(config: config, logger: logger)
    } catch {
      logger.critical("cannot open the spool or state", metadata: ["error": "\(error)"])
      throw ExitCode(1)
    }
    let runner = Runner(pipeline: pipeline, logger: logger)
    if once {
      let s = await runner.runOnce(force: force)
      logger.info(
        "round done",
        metadata: ["polled": "\(s.polled)", "delivered": "\(s.delivered)", "failed": "\(s.failed)"])
      print("stored=\(s.delivered)")
    } else {
      let exporter = MetricsExporter()
      if config.metrics.listen != nil || config.metrics.textfile != nil { Telemetry.bootstrap() }
      do {
        if let l = config.metrics.listen {
          try exporter.listen(l)
          logger.info("metrics listening", metadata: ["metrics.port": "\(exporter.port)"])
        }
      } catch {
        logger.critical("cannot expose metrics", metadata: ["error": "\(error)"])
        throw ExitCode(2)
      }
      if let t = config.metrics.textfile { exporter.writeTextfile(t) }
      await runner.runForever(configFile: Config.locate(options.config))
      exporter.stop()
    }
  }
}

struct Parse: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Parse one feed document and print it as JSON.")
  @Argument(help: "The feed document.") var file: String?
  @Option(help: "The URL it was served from (base for relative links).") var url: String?
  @Option(help: "A JSON file of the HTTP response headers (for the charset).") var headers: String?
  @Option(help: "Parse every file listed (one path a line) and print items=N.") var list: String?
  @Option(help: "With --list: threads to parse on (default: one per core).") var jobs: Int?

  func run() async throws {
    if let list {
      let r = FeedParser.parseList(list, jobs: jobs)
      print("items=\(r.items)")
      if r.errors > 0 { FileHandle.standardError.write(Data("errors=\(r.errors)\n".utf8)) }
      return
    }
    guard let file else { throw ValidationError("give a FILE or --list") }
    let r = FeedParser.parseCommand(
      file: file, url: url.flatMap { $0.isEmpty ? nil : $0 },
      headersFile: headers.flatMap { $0.isEmpty ? nil : $0 })
    print(r.output)
    if r.exitCode != 0 { throw ExitCode(r.exitCode) }
  }
}

struct Extract: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Extract the article of one HTML page and print it as JSON.")
  @Argument(help: "The HTML page.") var file: String?
  @Option(help: "The page's URL.") var url: String = ""
  @Option(help: "Extract every file listed (one path a line) and print pages=N.") var list: String?

  func run() async throws {
    if let list {
      try Extractor.extractList(list)
      return
    }
    guard let file else { throw ValidationError("give a FILE or --list") }
    guard let data = FileManager.default.contents(atPath: file) else {
      throw ValidationError("cannot read \(file)")
    }
    let r = ArticleCommand.extractJSON([UInt8](data), url: url)
    print(r)
  }
}

struct Tail: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Print delivered articles in delivery order; --follow keeps printing new ones.")
  @OptionGroup var options: ConfigOption
  @Option(help: "The spool directory (default: the config's).") var spool: String?
  @Flag(help: "Keep printing new deliveries as they come.") var follow = false
  @Flag(help: "One JSON object a line: path and the front matter fields.") var json = false
  @Option(help: "Start after this delivery number (a consumer's cursor).") var after: UInt64 = 0

  func run() async throws {
    let dir: String
    if let spool { dir = spool } else { dir = try options.load().spool }
    signal(SIGPIPE, SIG_DFL)
    try Daemon.Tail(spool: dir).run(json: json, follow: follow, after: after) { line in
      print(line)
      fflush(nil)
    }
  }
}

struct Check: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Validate the config: file, line and field of each error.")
  @OptionGroup var options: ConfigOption

  func run() async throws {
    let path = Config.locate(options.config)
    do {
      let c = try Config.load(file: path)
      for w in c.warnings { print("warning: \(w)") }
      print("\(path): ok, \(c.feeds.count) feeds, \(c.articles.count) articles")
    } catch {
      for i in error.issues { print("error: \(i)") }
      throw ExitCode(1)
    }
  }
}

struct List: AsyncParsableCommand {
  static let configuration = CommandConfiguration(abstract: "List the configured feeds and pages.")
  @OptionGroup var options: ConfigOption

  func run() async throws {
    let c = try options.load()
    for f in c.feeds {
      let topics = f.topics.isEmpty ? "" : "  [\(f.topics.joined(separator: ", "))]"
      print("feed     \(f.url)\(topics)")
    }
    for a in c.articles { print("article  \(a.url)") }
  }
}

struct Status: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Per feed: where it is fetched, last fetch and status, next due time, errors.")
  @OptionGroup var options: ConfigOption
  @Flag(help: "One JSON object a line.") var json = false

  func run() async throws {
    let c = try options.load()
    let store = try FeedStateStore(directory: c.state)
    let f = ISO8601DateFormatter()
    func d(_ x: Date?) -> String { x.map { f.string(from: $0) } ?? "-" }
    let rows: [(kind: String, url: String)] =
      c.feeds.map { ("feed", $0.url) } + c.articles.map { ("article", $0.url) }
    for (kind, url) in rows {
      let s = store[kind == "feed" ? url : "article:" + url]
      let state: String
      if s.retired == true {
        state = "retired (gone)"
      } else if kind == "article" && s.done == true {
        state = "done"
      } else if s.lastFetch == nil {
        state = "new"
      } else if s.lastStatus == "offline" {
        state = "waiting for the network"
      } else {
        state = s.errorCount > 0 ? "failing" : "ok"
      }
      if json {
        var o: [String: Any] = [
          "kind": kind, "url": url, "state": state, "errors": s.errorCount,
          "delivered": s.delivered,
        ]
        if let m = s.movedTo { o["movedTo"] = m }
        if let x = s.lastFetch { o["lastFetch"] = f.string(from: x) }
        if let x = s.lastStatus { o["lastStatus"] = x }
        if let x = s.nextDue, s.retired != true { o["nextDue"] = f.string(from: x) }
        if let x = s.lastError { o["lastError"] = x }
        let data = try JSONSerialization.data(
          withJSONObject: o, options: [.sortedKeys, .withoutEscapingSlashes])
        print(String(decoding: data, as: UTF8.self))
        continue
      }
      print("\(kind) \(url)  [\(state)]")
      if let m = s.movedTo { print("  moved to   \(m) (after repeated permanent redirects)") }
      print("  last fetch \(d(s.lastFetch))  status \(s.lastStatus ?? "-")  errors \(s.errorCount)")
      let next = s.retired == true || s.done == true ? "never" : d(s.nextDue)
      print("  next due   \(next)  delivered \(s.delivered)")
      if let e = s.lastError { print("  last error \(e)") }
    }
  }
}

struct Add: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Add a feed to the config (a page URL is turned into its feed by autodiscovery).",
    discussion: "The file keeps its comments and layout; a running daemon picks the change up.")
  @OptionGroup var options: ConfigOption
  @Argument(help: "A feed URL, or a page that links to its feed.") var url: String
  @Option(name: .customLong("topic"), help: "A topic for its articles (repeatable).")
  var topics: [String] = []
  @Option(help: "The front matter category.") var category: String?
  @Flag(help: "Add the URL as given, without fetching it.") var noDiscover = false
  @Flag(help: "Add it as a plain article page (fetched and extracted once).") var article = false

  func run() async throws {
    let path = Config.locate(options.config)
    var target = url.contains("://") ? url : "https://" + url
    if !noDiscover && !article {
      // Links found on the page came from the network: the config's network.allow
      // applies to them, as in the daemon.
      let allow = (try? Config.load(file: path))?.network.allow ?? []
      let fetcher = Fetcher(
        userAgent: Pipeline.defaultUserAgent, policy: NetworkPolicy(allow: allow))
      let typed = target
      let found = await FeedDiscovery.resolve(target) { u in
        let r = await fetcher.fetch(
          FetchRequest(url: u, trusted: u == typed, limits: FetchLimits(maxBodyBytes: 5 << 20)))
        guard let resp = r.response else { return nil }
        return (resp.status, resp.headers["content-type"], resp.body, resp.url)
      }
      fetcher.shutdown()
      guard let found else {
        print("error: no feed found at \(target) (use --no-discover to add it anyway)")
        throw ExitCode(1)
      }
      if found != target { print("found feed: \(found)") }
      target = found
    }
    do {
      try ConfigEditor.editFile(path, createIfMissing: true) { text in
        article
          ? try ConfigEditor.addArticle(to: text, url: target, topics: topics, category: category)
          : try ConfigEditor.addFeed(to: text, url: target, topics: topics, category: category)
      }
      print("added \(target) to \(path)")
    } catch {
      print("error: \(error)")
      throw ExitCode(1)
    }
  }
}

struct Remove: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Remove a feed (or article page) from the config, keeping comments and layout.")
  @OptionGroup var options: ConfigOption
  @Argument(help: "The URL as listed.") var url: String

  func run() async throws {
    let path = Config.locate(options.config)
    do {
      try ConfigEditor.editFile(path) { text in
        do {
          return try ConfigEditor.removeFeed(from: text, url: url)
        } catch {
          guard let e = error as? ConfigEditError, case .notListed = e else { throw error }
          return try ConfigEditor.removeArticle(from: text, url: url)
        }
      }
      print("removed \(url) from \(path)")
    } catch {
      print("error: \(error)")
      throw ExitCode(1)
    }
  }
}

struct ImportOPML: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "import-opml",
    abstract: "Add the feeds of an OPML file (folders and categories become topics).")
  @OptionGroup var options: ConfigOption
  @Argument(help: "The OPML file.") var file: String

  func run() async throws {
    guard let data = FileManager.default.contents(atPath: file) else {
      print("error: cannot read \(file)")
      throw ExitCode(1)
    }
    let feeds: [OPMLFeed]
    do {
      feeds = try OPML.parse([UInt8](data))
    } catch {
      print("error: \(file): \(error)")
      throw ExitCode(1)
    }
    let path = Config.locate(options.config)
    nonisolated(unsafe) var result: ConfigEditor.BatchResult?
    do {
      try ConfigEditor.editFile(path, createIfMissing: true) { text in
        let r = try ConfigEditor.addFeeds(
          to: text, feeds.map { .init(url: $0.url, topics: $0.topics, title: $0.title) })
        result = r
        return r.text
      }
    } catch {
      print("error: \(error)")
      throw ExitCode(1)
    }
    print("imported \(result?.added.count ?? 0) feeds into \(path)")
    for s in result?.skipped ?? [] { print("skipped: \(s)") }
  }
}

struct ExportOPML: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "export-opml", abstract: "Print the configured feeds as OPML 2.0.")
  @OptionGroup var options: ConfigOption

  func run() async throws {
    let c = try options.load()
    print(OPML.export(c.feeds, title: "feedspool feeds"), terminator: "")
  }
}

/// Benchmarks/dedup.sh: the seen table with many URLs delivered (hidden: a measuring tool).
struct BenchSeen: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "bench-seen", abstract: "Measure deduplication with N URLs seen.",
    shouldDisplay: false)
  @Option(help: "Spool directory (its log is rewritten).") var spool: String
  @Option(help: "State directory (its seen table is rewritten).") var state: String
  @Option(help: "URLs already delivered.") var urls: Int = 10_000_000
  @Option(help: "Lookups to time.") var lookups: Int = 2_000_000

  func run() throws {
    let r = try SeenBenchmark.run(spool: spool, state: state, urls: urls, lookups: lookups)
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    if let f = r.fillSeconds { print("fill_s=\(String(format: "%.2f", f))") }
    print("urls=\(r.urls)")
    print("open_s=\(String(format: "%.4f", r.openSeconds))")
    print("lookups=\(r.lookups) hits=\(r.hits)")
    print("lookups_per_s=\(Int(r.lookupsPerSecond))")
    print(
      "table_bytes=\(r.tableBytes) bytes_per_url=\(String(format: "%.1f", Double(r.tableBytes) / Double(r.urls)))"
    )
    print("peak_rss_kb=\(usage.ru_maxrss)")
  }
}

/// Benchmarks/build.sh: the article path's CPU without network or spool (hidden).
struct BenchBuild: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "bench-build",
    abstract: "Parse listed feed files and build every article file, on one thread.",
    shouldDisplay: false)
  @Option(help: "A file of feed document paths, one a line.") var list: String
  @Option(help: "Passes over the files.") var repeats: Int = 1
  @Flag(help: "Print a digest of every article file (to compare two builds' output).")
  var digest = false

  func run() throws {
    let r = try BuildBenchmark.run(listFile: list, repeats: repeats, digest: digest)
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    print("feeds=\(r.feeds) items=\(r.items) articles=\(r.articles) errors=\(r.errors)")
    print("bytes=\(r.bytes)" + (digest ? " digest=\(String(r.digest, radix: 16))" : ""))
    print("seconds=\(String(format: "%.3f", r.seconds))")
    print("us_per_article=\(String(format: "%.1f", r.seconds * 1e6 / Double(max(1, r.articles))))")
    print("peak_rss_kb=\(usage.ru_maxrss)")
  }
}
