import Articles
import Foundation
import Yams

/// The configuration file (DESIGN section 4), read with Yams. Every error names the
/// file, line and field; unknown keys are reported as warnings (a typo should not
/// stop a running daemon, but `check` shows it).
public struct Config: Sendable, Equatable {
  public var file: String?
  public var spool: String
  public var state: String
  /// Default poll interval, seconds.
  public var interval: Int = 3600
  public var feeds: [FeedConfig] = []
  public var articles: [ArticleConfig] = []
  public var network = NetworkConfig()
  /// Replaces the default `feedspool/VERSION (+URL)`; should still name feedspool.
  public var userAgent: String?
  /// Transfers in flight at once.
  public var jobs: Int = 16
  public var logLevel: String = "info"
  public var limits = Limits()
  public var metrics = MetricsConfig()
  public var warnings: [ConfigIssue] = []

  public struct FeedConfig: Sendable, Equatable {
    public var url: String
    public var topics: [String] = []
    public var category: String = "news"
    /// Seconds; nil: the global interval.
    public var interval: Int?
    public var fullText = false
    public var title: String?
    public init(url: String) { self.url = url }
  }

  public struct ArticleConfig: Sendable, Equatable {
    public var url: String
    public var topics: [String] = []
    public var category: String = "news"
    public init(url: String) { self.url = url }
  }

  public struct NetworkConfig: Sendable, Equatable {
    /// host:port entries that URLs from the network may reach although private.
    public var allow: [String] = []
    /// Host patterns (`*.tumblr.com`) that count as one origin for rate limits.
    public var groups: [String] = []
    /// Requests in flight at once to one origin.
    public var perOrigin = 2
    /// Least time between two requests to one origin, seconds.
    public var spacing = 0
  }

  public struct MetricsConfig: Sendable, Equatable {
    /// Loopback host:port for Prometheus scrapes (`GET /metrics`); off when nil.
    public var listen: String?
    /// A node_exporter textfile rewritten every 15 s; off when nil.
    public var textfile: String?
  }

  public struct Limits: Sendable, Equatable {
    public var maxBodyBytes = 10 << 20
    public var timeout = 60
    public var connectTimeout = 15
  }

  /// Defaults: `$STATE_DIRECTORY/spool` and `/state` under systemd, else `./spool`, `./state`.
  public init(environment: [String: String] = ProcessInfo.processInfo.environment) {
    let base: String
    if let sd = environment["STATE_DIRECTORY"], !sd.isEmpty {
      base = String(sd.split(separator: ":").first ?? Substring(sd))
    } else {
      base = "."
    }
    spool = base + "/spool"
    state = base + "/state"
  }
}

/// One problem in a config file, with where it is.
public struct ConfigIssue: Error, Sendable, Equatable, CustomStringConvertible {
  public var file: String
  public var line: Int?
  public var column: Int?
  public var field: String
  public var message: String
  public var description: String {
    var s = file
    if let line { s += ":\(line)" }
    if let column { s += ":\(column)" }
    return "\(s): \(field): \(message)"
  }
}

public struct ConfigErrors: Error, Sendable, CustomStringConvertible {
  public var issues: [ConfigIssue]
  public var description: String { issues.map(\.description).joined(separator: "\n") }
}

extension Config {
  /// Where the config file is: `--config`, then `$FEEDSPOOL_CONFIG`, then
  /// `/etc/feedspool/feedspool.yaml`, then `./Config/feedspool.yaml`.
  public static func locate(
    _ explicit: String?, environment: [String: String] = ProcessInfo.processInfo.environment
  ) -> String {
    if let explicit, !explicit.isEmpty { return explicit }
    if let env = environment["FEEDSPOOL_CONFIG"], !env.isEmpty { return env }
    if FileManager.default.fileExists(atPath: "/etc/feedspool/feedspool.yaml") {
      return "/etc/feedspool/feedspool.yaml"
    }
    return "./Config/feedspool.yaml"
  }

  public static func load(
    file: String, environment: [String: String] = ProcessInfo.processInfo.environment
  ) throws(ConfigErrors) -> Config {
    guard let data = FileManager.default.contents(atPath: file) else {
      throw ConfigErrors(issues: [
        ConfigIssue(file: file, field: "(file)", message: "cannot read the config file")
      ])
    }
    guard let text = String(data: data, encoding: .utf8) else {
      throw ConfigErrors(issues: [
        ConfigIssue(file: file, field: "(file)", message: "not UTF-8 text")
      ])
    }
    return try parse(text, file: file, environment: environment)
  }

  public static func parse(
    _ text: String, file: String = "<config>",
    environment: [String: String] = ProcessInfo.processInfo.environment
  ) throws(ConfigErrors) -> Config {
    var reader = ConfigReader(file: file)
    var config = Config(environment: environment)
    config.file = file
    let root: Node?
    do {
      // The basic resolver: plain scalars stay untagged strings, read as numbers or
      // booleans by the field that wants one. Yams' default resolver tries a list of
      // NSRegularExpressions on every scalar (ten thousand feed URLs: a tenth of a
      // second) and pages in ICU's regex engine, megabytes that the daemon keeps.
      root = try Yams.compose(yaml: text, .basic)
    } catch let e as YamlError {
      throw ConfigErrors(issues: [reader.yamlIssue(e)])
    } catch {
      throw ConfigErrors(issues: [
        ConfigIssue(file: file, field: "(yaml)", message: "\(error)")
      ])
    }
    guard let root else { return config }  // an empty file: all defaults, no feeds
    reader.read(root, into: &config)
    if !reader.errors.isEmpty { throw ConfigErrors(issues: reader.errors) }
    config.warnings = reader.warnings
    return config
  }
}

/// Walks the YAML node tree, collecting errors with their marks.
struct ConfigReader {
  let file: String
  var errors: [ConfigIssue] = []
  var warnings: [ConfigIssue] = []

  init(file: String) { self.file = file }

  func issue(_ node: Node?, _ field: String, _ message: String) -> ConfigIssue {
    ConfigIssue(
      file: file, line: node?.mark?.line, column: node?.mark?.column, field: field,
      message: message)
  }

  func yamlIssue(_ e: YamlError) -> ConfigIssue {
    switch e {
    case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _):
      return ConfigIssue(
        file: file, line: mark.line, column: mark.column, field: "(yaml)", message: problem)
    default:
      return ConfigIssue(file: file, field: "(yaml)", message: "\(e)")
    }
  }

  mutating func read(_ root: Node, into c: inout Config) {
    guard let map = root.mapping else {
      errors.append(issue(root, "(top)", "the config must be a mapping of keys"))
      return
    }
    for (k, v) in map {
      guard let key = k.string else { continue }
      switch key {
      case "spool": if let s = string(v, key) { c.spool = s }
      case "state": if let s = string(v, key) { c.state = s }
      case "interval": if let s = duration(v, key) { c.interval = s }
      case "userAgent", "user_agent": c.userAgent = string(v, key)
      case "jobs": if let n = int(v, key, min: 1, max: 1000) { c.jobs = n }
      case "logLevel", "log_level":
        if let s = string(v, key) {
          let levels = ["trace", "debug", "info", "notice", "warning", "error", "critical"]
          if levels.contains(s) {
            c.logLevel = s
          } else {
            errors.append(issue(v, key, "must be one of \(levels.joined(separator: ", "))"))
          }
        }
      case "feeds": c.feeds = list(v, key) { r, n, field in r.feed(n, field) }
      case "articles": c.articles = list(v, key) { r, n, field in r.article(n, field) }
      case "network": network(v, into: &c.network)
      case "limits": limits(v, into: &c.limits)
      case "metrics":
        guard let map = v.mapping else {
          errors.append(issue(v, "metrics", "must be a mapping"))
          break
        }
        for (mk, mv) in map {
          guard let key = mk.string else { continue }
          switch key {
          case "listen": c.metrics.listen = string(mv, "metrics.listen")
          case "textfile": c.metrics.textfile = string(mv, "metrics.textfile")
          default: warnings.append(issue(mk, "metrics." + key, "unknown key (ignored)"))
          }
        }
      default: warnings.append(issue(k, key, "unknown key (ignored)"))
      }
    }
    var seen = Set<String>()
    for (i, f) in c.feeds.enumerated() where !seen.insert(f.url).inserted {
      errors.append(issue(nil, "feeds[\(i)].url", "\(f.url) is listed twice"))
    }
  }

  mutating func string(_ n: Node, _ field: String) -> String? {
    guard case .scalar(let s) = n else {
      errors.append(issue(n, field, "must be a string"))
      return nil
    }
    return s.string
  }

  mutating func int(_ n: Node, _ field: String, min: Int, max: Int) -> Int? {
    guard let v = n.int, v >= min, v <= max else {
      errors.append(issue(n, field, "must be a whole number from \(min) to \(max)"))
      return nil
    }
    return v
  }

  /// YAML 1.1's booleans, as Yams' default resolver knows them: plain (unquoted) `true`,
  /// `yes`, `on`, `false`, `no`, `off`, each lower-case, capitalized or upper-case.
  static let booleans: [String: Bool] = {
    var m: [String: Bool] = [:]
    for (word, value) in [
      ("true", true), ("yes", true), ("on", true), ("false", false), ("no", false), ("off", false),
    ] {
      for form in [word, word.capitalized, word.uppercased()] { m[form] = value }
    }
    return m
  }()

  mutating func bool(_ n: Node, _ field: String) -> Bool? {
    guard case .scalar(let s) = n, s.style == .plain || s.style == .any,
      let b = Self.booleans[s.string]
    else {
      errors.append(issue(n, field, "must be true or false"))
      return nil
    }
    return b
  }

  /// `90s`, `15m`, `1h`, `1h30m`, `2d`, or a bare number of minutes.
  mutating func duration(_ n: Node, _ field: String) -> Int? {
    guard let s = n.string, let secs = Self.parseDuration(s), secs > 0 else {
      errors.append(issue(n, field, "must be a duration like 30m, 1h, 1h30m or 1d"))
      return nil
    }
    return secs
  }

  static func parseDuration(_ text: String) -> Int? {
    let s = text.trimmingCharacters(in: .whitespaces).lowercased()
    if let minutes = Int(s) { return minutes * 60 }
    var total = 0
    var number = ""
    var sawUnit = false
    for ch in s {
      if ch.isNumber {
        number.append(ch)
        continue
      }
      guard let v = Int(number) else { return nil }
      switch ch {
      case "s": total += v
      case "m": total += v * 60
      case "h": total += v * 3600
      case "d": total += v * 86400
      case "w": total += v * 604800
      default: return nil
      }
      number = ""
      sawUnit = true
    }
    guard number.isEmpty, sawUnit else { return nil }
    return total
  }

  mutating func stringList(_ n: Node, _ field: String) -> [String] {
    if case .scalar(let s) = n { return [s.string] }
    guard let seq = n.sequence else {
      errors.append(issue(n, field, "must be a list of strings"))
      return []
    }
    return seq.compactMap { string($0, field) }
  }

  mutating func list<T>(
    _ n: Node, _ field: String, _ each: (inout ConfigReader, Node, String) -> T?
  ) -> [T] {
    if case .scalar(let s) = n, s.string.isEmpty || s.string == "~" || s.string == "null" {
      return []
    }
    guard let seq = n.sequence else {
      errors.append(issue(n, field, "must be a list"))
      return []
    }
    var out: [T] = []
    out.reserveCapacity(seq.count)  // 10,000 feeds: no doubling, no slack
    for (i, item) in seq.enumerated() {
      if let v = each(&self, item, "\(field)[\(i)]") { out.append(v) }
    }
    return out
  }

  mutating func url(_ n: Node, _ field: String) -> String? {
    guard let s = string(n, field) else { return nil }
    let t = s.trimmingCharacters(in: .whitespaces)
    guard t.utf8.allSatisfy(Self.isURLByte), CanonicalURL.origin(of: t) != nil else {
      errors.append(issue(n, field, "must be an http:// or https:// URL"))
      return nil
    }
    return t
  }

  /// The bytes a URL may hold as written: RFC 3986's unreserved and reserved characters,
  /// `%`, and any non-ASCII byte (an internationalized name). Not white space, controls,
  /// `"`, `<`, `>`, `\`, `^`, `` ` ``, `{`, `|`, `}`.
  static func isURLByte(_ b: UInt8) -> Bool {
    if b >= 0x80 { return true }
    if b <= 0x20 || b == 0x7F { return false }
    switch b {
    case 0x22, 0x3C, 0x3E, 0x5C, 0x5E, 0x60, 0x7B, 0x7C, 0x7D: return false
    default: return true
    }
  }

  /// One list entry: a bare URL, or a mapping with `url` whose other keys go to
  /// `key` (which returns false for a key it does not know).
  mutating func entry<T>(
    _ n: Node, _ field: String, make: (String) -> T,
    key: (inout ConfigReader, inout T, String, Node, String) -> Bool
  ) -> T? {
    if case .scalar = n { return url(n, field).map(make) }
    guard let map = n.mapping else {
      errors.append(issue(n, field, "must be a mapping with a url"))
      return nil
    }
    guard let urlNode = map["url"] else {
      errors.append(issue(n, field + ".url", "is missing"))
      return nil
    }
    guard let u = url(urlNode, field + ".url") else { return nil }
    var value = make(u)
    for (k, v) in map {
      guard let name = k.string, name != "url" else { continue }
      let path = field + "." + name
      if !key(&self, &value, name, v, path) {
        warnings.append(issue(k, path, "unknown key (ignored)"))
      }
    }
    return value
  }

  mutating func feed(_ n: Node, _ field: String) -> Config.FeedConfig? {
    entry(n, field, make: Config.FeedConfig.init(url:)) { r, f, name, v, path in
      switch name {
      case "topics": f.topics = r.stringList(v, path)
      case "category": if let s = r.string(v, path) { f.category = s }
      case "interval": f.interval = r.duration(v, path)
      case "fullText", "full_text": if let b = r.bool(v, path) { f.fullText = b }
      case "title", "name": f.title = r.string(v, path)
      default: return false
      }
      return true
    }
  }

  mutating func article(_ n: Node, _ field: String) -> Config.ArticleConfig? {
    entry(n, field, make: Config.ArticleConfig.init(url:)) { r, a, name, v, path in
      switch name {
      case "topics": a.topics = r.stringList(v, path)
      case "category": if let s = r.string(v, path) { a.category = s }
      default: return false
      }
      return true
    }
  }

  mutating func network(_ n: Node, into net: inout Config.NetworkConfig) {
    guard let map = n.mapping else {
      errors.append(issue(n, "network", "must be a mapping"))
      return
    }
    for (k, v) in map {
      guard let key = k.string else { continue }
      switch key {
      case "allow":
        net.allow = stringList(v, "network.allow")
        for (i, entry) in net.allow.enumerated() {
          let parts = entry.split(separator: ":")
          if parts.count < 2 || Int(parts.last!) == nil {
            errors.append(issue(v, "network.allow[\(i)]", "must be host:port, got \(entry)"))
          }
        }
      case "groups": net.groups = stringList(v, "network.groups")
      case "perOrigin", "per_origin":
        if let n = int(v, "network.perOrigin", min: 1, max: 1000) { net.perOrigin = n }
      case "spacing":
        if case .scalar(let s) = v, s.string == "0" {
          net.spacing = 0
        } else if let d = duration(v, "network.spacing") {
          net.spacing = d
        }
      default: warnings.append(issue(k, "network." + key, "unknown key (ignored)"))
      }
    }
  }

  mutating func limits(_ n: Node, into l: inout Config.Limits) {
    guard let map = n.mapping else {
      errors.append(issue(n, "limits", "must be a mapping"))
      return
    }
    for (k, v) in map {
      guard let key = k.string else { continue }
      let path = "limits." + key
      switch key {
      case "maxBodyBytes", "max_body_bytes":
        if let x = int(v, path, min: 1024, max: 1 << 30) { l.maxBodyBytes = x }
      case "timeout": if let s = duration(v, path) { l.timeout = s }
      case "connectTimeout", "connect_timeout":
        if let s = duration(v, path) { l.connectTimeout = s }
      default: warnings.append(issue(k, path, "unknown key (ignored)"))
      }
    }
  }
}
