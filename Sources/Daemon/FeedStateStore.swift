import Foundation
import Synchronization

/// What feedspool remembers about one feed (or one configured article page)
/// between fetches and across restarts.
public struct FeedState: Codable, Sendable, Equatable {
  public var url: String
  /// Validators exactly as the server sent them, sent back byte for byte.
  public var etag: String?
  public var lastModified: String?
  public var lastFetch: Date?
  /// "200", "304", "404", "timeout", ...
  public var lastStatus: String?
  public var lastError: String?
  public var nextDue: Date?
  public var errorCount: Int = 0
  public var delivered: Int = 0
  public var title: String?
  /// Article pages: delivered (or definitively unusable), never fetched again.
  public var done: Bool?
  /// 410 Gone: never fetched again (shown by `status`).
  public var retired: Bool?
  /// Where the feed moved after repeated permanent redirects; fetched there.
  public var movedTo: String?
  /// The permanent redirect target seen on the last `redirectStreak` fetches.
  public var redirectTarget: String?
  public var redirectStreak: Int = 0
  /// The schedule hints of the last successful fetch.
  public var hints: FeedHints?

  public init(url: String) { self.url = url }

  enum CodingKeys: String, CodingKey {
    case url, etag, lastModified, lastFetch, lastStatus, lastError, nextDue, errorCount
    case delivered, title, done, retired, movedTo, redirectTarget, redirectStreak, hints
  }

  /// Lenient: a key missing from an older state file takes its default.
  public init(from decoder: any Decoder) throws {
    let c = try decoder.container(keyedBy: CodingKeys.self)
    url = try c.decode(String.self, forKey: .url)
    etag = try c.decodeIfPresent(String.self, forKey: .etag)
    lastModified = try c.decodeIfPresent(String.self, forKey: .lastModified)
    lastFetch = try c.decodeIfPresent(Date.self, forKey: .lastFetch)
    lastStatus = try c.decodeIfPresent(String.self, forKey: .lastStatus)
    lastError = try c.decodeIfPresent(String.self, forKey: .lastError)
    nextDue = try c.decodeIfPresent(Date.self, forKey: .nextDue)
    errorCount = try c.decodeIfPresent(Int.self, forKey: .errorCount) ?? 0
    delivered = try c.decodeIfPresent(Int.self, forKey: .delivered) ?? 0
    title = try c.decodeIfPresent(String.self, forKey: .title)
    done = try c.decodeIfPresent(Bool.self, forKey: .done)
    retired = try c.decodeIfPresent(Bool.self, forKey: .retired)
    movedTo = try c.decodeIfPresent(String.self, forKey: .movedTo)
    redirectTarget = try c.decodeIfPresent(String.self, forKey: .redirectTarget)
    redirectStreak = try c.decodeIfPresent(Int.self, forKey: .redirectStreak) ?? 0
    hints = try c.decodeIfPresent(FeedHints.self, forKey: .hints)
  }
}

/// All feed states in one JSON file, `STATE/feeds.json`, replaced atomically.
///
/// Writes are batched: `update` marks the store dirty and `flush` (called by the
/// daemon on a short timer and at exit) writes it. A state may lag behind the
/// spool after a crash; that only means a feed is fetched again, and dedup keeps
/// the spool free of repeats. It never runs ahead: a feed's validators are updated
/// only after its articles were delivered.
public final class FeedStateStore: Sendable {
  public let path: String
  private struct Inner {
    var states: [String: FeedState]
    var origins = OriginBook()
    var dirty = false
  }

  /// The file: every feed's state and the origins' waits.
  private struct File: Codable {
    var feeds: [FeedState]
    var origins: OriginBook?
  }
  private let inner: Mutex<Inner>

  public init(directory: String, originGroups: [String] = []) throws {
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    path = directory + "/feeds.json"
    var states: [String: FeedState] = [:]
    var origins = OriginBook(groups: originGroups)
    if let data = FileManager.default.contents(atPath: path), !data.isEmpty {
      let decoder = JSONDecoder()
      decoder.dateDecodingStrategy = .secondsSince1970
      let file = try decoder.decode(File.self, from: data)
      for s in file.feeds { states[s.url] = s }
      origins.blockedUntil = file.origins?.blockedUntil ?? [:]
    }
    inner = Mutex(Inner(states: states, origins: origins))
  }

  public subscript(url: String) -> FeedState {
    inner.withLock { $0.states[url] ?? FeedState(url: url) }
  }

  public var all: [FeedState] { inner.withLock { Array($0.states.values) } }

  public func update(_ url: String, _ change: (inout FeedState) -> Void) {
    inner.withLock { i in
      var s = i.states[url] ?? FeedState(url: url)
      change(&s)
      i.states[url] = s
      i.dirty = true
    }
  }

  /// When the origin (or host group) of `url` may be asked again, if it asked to wait.
  public func originWait(for url: String, now: Date) -> Date? {
    inner.withLock { $0.origins.wait(for: url, now: now) }
  }

  public func originKey(_ url: String) -> String {
    inner.withLock { $0.origins.key(for: url) }
  }

  public func blockOrigin(_ url: String, until: Date) {
    inner.withLock { i in
      i.origins.block(url, until: until)
      i.dirty = true
    }
  }

  /// Writes the file if anything changed since the last flush.
  public func flush() throws {
    let snapshot: File? = inner.withLock { i in
      guard i.dirty else { return nil }
      i.dirty = false
      i.origins.prune(now: Date())
      return File(feeds: i.states.values.sorted { $0.url < $1.url }, origins: i.origins)
    }
    guard let snapshot else { return }
    let encoder = JSONEncoder()
    encoder.dateEncodingStrategy = .secondsSince1970
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    do {
      let data = try encoder.encode(snapshot)
      try AtomicFile.write(data, to: path)
    } catch {
      inner.withLock { $0.dirty = true }
      throw error
    }
  }
}

/// Temp file, fsync, rename, fsync of the directory.
enum AtomicFile {
  static func write(_ data: Data, to path: String) throws {
    let tmp = path + ".new"
    let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    guard fd >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
    var ok = true
    data.withUnsafeBytes { raw in
      var off = 0
      while off < raw.count {
        let n = Glibc.write(fd, raw.baseAddress! + off, raw.count - off)
        if n < 0 {
          if errno == EINTR { continue }
          ok = false
          return
        }
        off += n
      }
    }
    let code = errno
    if !ok || fsync(fd) != 0 {
      close(fd)
      unlink(tmp)
      throw POSIXError(POSIXErrorCode(rawValue: ok ? errno : code) ?? .EIO)
    }
    close(fd)
    guard rename(tmp, path) == 0 else {
      unlink(tmp)
      throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO)
    }
    let dir = (path as NSString).deletingLastPathComponent
    let dfd = open(dir.isEmpty ? "." : dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    if dfd >= 0 {
      _ = fsync(dfd)
      close(dfd)
    }
  }
}
