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

/// All feed states, in two line files under STATE:
///
/// - `feeds.state`, a snapshot: every feed, written whole (temp file, fsync, rename) when
///   the journal has grown past it;
/// - `feeds.journal`: the states changed since, appended (and fdatasync'd) by each flush.
///
/// Both start with the header `feedspool-state 2 GENERATION`; then one line per record,
/// `F<TAB>` and a feed's state as compact JSON, or `O<TAB>` and the origins' waits. On load
/// the journal is replayed over the snapshot (later lines win) only if its generation is
/// the snapshot's: a crash between writing a new snapshot and starting a new journal
/// leaves an old journal that is ignored. A line that does not read back (torn by a crash)
/// is skipped and counted in `skippedLines`: that feed is fetched again, and dedup keeps the
/// spool free of repeats.
///
/// So a flush costs what changed, not the number of feeds (a daemon with 10,000 feeds
/// wrote a 5.7 MB file every 2 seconds before), and neither load nor flush holds the whole
/// file or an encoder's tree of it in memory.
///
/// Writes are batched: `update` marks a feed dirty and `flush` (called by the daemon on a
/// short timer and at exit) writes. A state may lag behind the spool after a crash; that
/// only means a feed is fetched again. It never runs ahead: a feed's validators are
/// updated only after its articles were delivered.
public final class FeedStateStore: Sendable {
  /// The snapshot file.
  public let path: String
  let journalPath: String
  /// The file of the first format (one pretty-printed JSON document), read once if no
  /// snapshot exists yet and removed after the first snapshot is written.
  let legacyPath: String
  /// Lines that did not read back at load (torn or damaged); their feeds start afresh.
  public let skippedLines: Int

  private struct Inner {
    var states: StateTable
    var origins = OriginBook()
    var dirty: Set<String> = []
    var originsDirty = false
  }

  private struct Files {
    var generation: UInt64 = 0
    var snapshotBytes = 0
    /// Open for appending by the first flush; -1 before.
    var journal: Int32 = -1
    /// Where the last whole line of a journal of `generation` ends, if one was read. The
    /// first flush cuts a torn tail there before appending (not the load: `status` reads
    /// while the daemon may be appending).
    var journalGood: Int?
    var journalBytes = 0
    /// A failed append could not be cut back: the next flush writes a snapshot.
    var mustCompact = false
    var legacyExists = false
  }

  private let inner: Mutex<Inner>
  private let files: Mutex<Files>

  static let header = "feedspool-state 2 "
  /// The journal may grow to this, or to the snapshot's size if larger, before a flush
  /// writes a new snapshot instead of appending.
  static let journalAllowance = 1 << 20

  public init(directory: String, originGroups: [String] = []) throws {
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    path = directory + "/feeds.state"
    journalPath = directory + "/feeds.journal"
    legacyPath = directory + "/feeds.json"
    var states = StateTable()
    var origins = OriginBook(groups: originGroups)
    var f = Files()
    var skipped = 0
    let decoder = JSONDecoder()
    decoder.dateDecodingStrategy = .secondsSince1970

    func apply(_ kind: UInt8, _ json: Data) -> Bool {
      if kind == UInt8(ascii: "F"), let s = try? decoder.decode(FeedState.self, from: json) {
        states[s.url] = s
        return true
      }
      if kind == UInt8(ascii: "O"), let o = try? decoder.decode([String: Date].self, from: json) {
        origins.blockedUntil = o
        return true
      }
      return false
    }

    func take(_ line: ArraySlice<UInt8>) {
      guard let (kind, json) = LineFile.record(line), apply(kind, json) else {
        skipped += 1
        return
      }
    }

    states.reserve(LineFile.countLines(path) + LineFile.countLines(journalPath))
    if let snapshot = LineFile.read(path, line: take) {
      f.generation = snapshot.generation ?? 0
      f.snapshotBytes = snapshot.bytes
      if snapshot.torn { skipped += 1 }
      if let generation = snapshot.generation {
        let journal = LineFile.read(journalPath, accept: { $0 == generation }, line: take)
        if let journal, journal.generation == generation {
          f.journalBytes = journal.goodBytes
          f.journalGood = journal.goodBytes
          if journal.torn { skipped += 1 }
        }
      } else {
        f.mustCompact = true
      }
    } else if let data = FileManager.default.contents(atPath: legacyPath) {
      f.legacyExists = true
      f.mustCompact = true
      if let file = try? decoder.decode(LegacyFile.self, from: data) {
        for s in file.feeds { states[s.url] = s }
        origins.blockedUntil = file.origins?.blockedUntil ?? [:]
      } else {
        skipped += 1
      }
    }
    skippedLines = skipped
    inner = Mutex(Inner(states: states, origins: origins))
    files = Mutex(f)
  }

  deinit {
    files.withLock { f in
      if f.journal >= 0 { close(f.journal) }
      f.journal = -1
    }
  }

  /// The first format: one JSON document with every feed.
  private struct LegacyFile: Decodable {
    var feeds: [FeedState]
    var origins: OriginBook?
  }

  public subscript(url: String) -> FeedState {
    inner.withLock { $0.states[url] ?? FeedState(url: url) }
  }

  public var all: [FeedState] { inner.withLock { $0.states.rows } }

  public func update(_ url: String, _ change: (inout FeedState) -> Void) {
    inner.withLock { i in
      var s = i.states[url] ?? FeedState(url: url)
      change(&s)
      i.states[url] = s
      i.dirty.insert(url)
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
      i.originsDirty = true
    }
  }

  /// Bytes in the two files (for tests).
  public var fileSizes: (snapshot: Int, journal: Int) {
    files.withLock { ($0.snapshotBytes, $0.journalBytes) }
  }

  /// Writes what changed since the last flush: appended to the journal, or, when the
  /// journal has outgrown its allowance (or most feeds changed), as a new snapshot.
  public func flush() throws {
    try files.withLock { f in
      if f.journal < 0, let good = f.journalGood {
        f.journalGood = nil
        if !openJournal(cutAt: good, into: &f) { f.mustCompact = true }
      }
      let compact: Bool
      let dirty: Set<String>
      var states = StateTable()
      var changed: [FeedState] = []
      var origins: [String: Date]?
      (compact, dirty) = inner.withLock { i in
        guard !i.dirty.isEmpty || i.originsDirty || f.mustCompact else { return (false, []) }
        let compact =
          f.mustCompact || f.journal < 0
          || f.journalBytes > max(Self.journalAllowance, f.snapshotBytes)
          || i.dirty.count * 2 > i.states.count
        let dirty = i.dirty
        if compact {
          i.origins.prune(now: Date())
          states = i.states
          origins = i.origins.blockedUntil
        } else {
          changed = dirty.compactMap { i.states[$0] }
          if i.originsDirty {
            i.origins.prune(now: Date())
            origins = i.origins.blockedUntil
          }
        }
        i.dirty = []
        i.originsDirty = false
        return (compact, dirty)
      }
      guard compact || !changed.isEmpty || origins != nil else { return }
      do {
        if compact {
          try writeSnapshot(states, origins: origins ?? [:], into: &f)
        } else {
          try appendJournal(changed, origins: origins, into: &f)
        }
      } catch {
        inner.withLock { i in
          i.dirty.formUnion(dirty)
          if origins != nil { i.originsDirty = true }
        }
        throw error
      }
    }
  }

  private static func encoder() -> JSONEncoder {
    let e = JSONEncoder()
    e.dateEncodingStrategy = .secondsSince1970
    e.outputFormatting = [.withoutEscapingSlashes]
    return e
  }

  private static func record(_ kind: UInt8, _ json: Data, to out: inout LineFile.Writer) {
    out.append(kind)
    out.append(0x09)
    out.append(json)
    out.append(0x0A)
  }

  private func writeSnapshot(
    _ states: StateTable, origins: [String: Date], into f: inout Files
  ) throws {
    // Random, not a counter: a generation must never match a journal left from an
    // earlier snapshot, even one that was deleted or damaged (a counter restarts then).
    var generation = UInt64.random(in: 1...UInt64.max)
    while generation == f.generation { generation = UInt64.random(in: 1...UInt64.max) }
    let encoder = Self.encoder()
    let tmp = path + ".new"
    var out = try LineFile.Writer(creating: tmp)
    do {
      out.append(Self.header + "\(generation)\n")
      Self.record(UInt8(ascii: "O"), try encoder.encode(origins), to: &out)
      // In URL order; indices sorted, not a sorted copy of 10,000 states (3 MB).
      let rows = states.rows
      for i in rows.indices.sorted(by: { rows[$0].url < rows[$1].url }) {
        Self.record(UInt8(ascii: "F"), try encoder.encode(rows[i]), to: &out)
      }
    } catch {
      out.abandon()
      throw error
    }
    let bytes = try out.finish(renamingTo: path)
    // The new snapshot holds everything: a journal of the old generation is ignored from
    // here on, so a crash before the next lines leaves nothing inconsistent. Appending to
    // that journal would be appending to nothing: until a journal of this generation
    // exists, every flush writes a snapshot.
    f.generation = generation
    f.snapshotBytes = bytes
    if f.journal >= 0 { close(f.journal) }
    f.journal = -1
    f.journalGood = nil
    f.journalBytes = 0
    f.mustCompact = true
    if f.legacyExists {
      unlink(legacyPath)
      f.legacyExists = false
    }
    var journal = try LineFile.Writer(creating: journalPath + ".new")
    journal.append(Self.header + "\(generation)\n")
    f.mustCompact = !openJournal(cutAt: try journal.finish(renamingTo: journalPath), into: &f)
  }

  /// Opens the journal for appending after its first `bytes` (anything beyond, a torn
  /// line, is cut off). False if it cannot.
  private func openJournal(cutAt bytes: Int, into f: inout Files) -> Bool {
    let fd = open(journalPath, O_WRONLY | O_APPEND | O_CLOEXEC)
    guard fd >= 0, ftruncate(fd, off_t(bytes)) == 0 else {
      if fd >= 0 { close(fd) }
      return false
    }
    f.journal = fd
    f.journalBytes = bytes
    return true
  }

  private func appendJournal(_ changed: [FeedState], origins: [String: Date]?, into f: inout Files)
    throws
  {
    let encoder = Self.encoder()
    var out = LineFile.Writer(appendingTo: f.journal)
    if let origins { Self.record(UInt8(ascii: "O"), try encoder.encode(origins), to: &out) }
    for s in changed { Self.record(UInt8(ascii: "F"), try encoder.encode(s), to: &out) }
    do {
      f.journalBytes += try out.finishAppend()
    } catch {
      // Cut a partial append back so the next one starts on a line boundary.
      if ftruncate(f.journal, off_t(f.journalBytes)) != 0 { f.mustCompact = true }
      throw error
    }
  }
}

/// Line files for `FeedStateStore`: a buffered reader and writer over file descriptors.
enum LineFile {
  struct ReadResult {
    /// From the header; nil if the header is missing or not ours.
    var generation: UInt64?
    var bytes: Int
    /// Bytes up to the end of the last whole line.
    var goodBytes: Int
    /// The file ends inside a line.
    var torn: Bool
  }

  /// A record line's kind byte and JSON: `K<TAB>{...}`.
  static func record(_ line: ArraySlice<UInt8>) -> (UInt8, Data)? {
    let i = line.startIndex
    guard line.count > 2, line[i + 1] == 0x09 else { return nil }
    return (line[i], Data(line[(i + 2)...]))
  }

  /// Calls `line` with each whole line after the header (without its newline), 64 KiB of
  /// the file in memory at a time. Nil if the file cannot be opened. If `accept` rejects
  /// the header's generation, no line is read.
  /// Newlines in the file at `path` (0 if it cannot be read).
  static func countLines(_ path: String) -> Int {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return 0 }
    defer { close(fd) }
    var chunk = [UInt8](repeating: 0, count: 1 << 16)
    var lines = 0
    while true {
      let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
      if n < 0 && errno == EINTR { continue }
      if n <= 0 { return lines }
      for b in chunk[..<n] where b == 0x0A { lines += 1 }
    }
  }

  static func read(
    _ path: String, accept: (UInt64?) -> Bool = { _ in true },
    line: (ArraySlice<UInt8>) -> Void
  ) -> ReadResult? {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var result = ReadResult(generation: nil, bytes: 0, goodBytes: 0, torn: false)
    var buffer: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 1 << 16)
    var sawHeader = false
    var rejected = false
    // A line longer than this is damage (a state line is a few hundred bytes): it is
    // dropped as it is read, not held, and reported as one empty line.
    let maxLine = 1 << 24
    var dropped = 0  // bytes of the current line already dropped
    var scanFrom = 0  // the buffer holds no newline before this
    func take(_ text: ArraySlice<UInt8>) {
      if !sawHeader {
        sawHeader = true
        let h = String(decoding: text, as: UTF8.self)
        if h.hasPrefix(FeedStateStore.header) {
          result.generation = UInt64(h.dropFirst(FeedStateStore.header.count))
        }
        if !accept(result.generation) { rejected = true }
      } else if !rejected {
        line(text)
      }
    }
    while !rejected {
      let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
      if n < 0 && errno == EINTR { continue }
      if n <= 0 { break }
      result.bytes += n
      buffer.append(contentsOf: chunk[0..<n])
      var start = 0
      while !rejected, let nl = buffer[scanFrom...].firstIndex(of: 0x0A) {
        take(dropped > 0 ? buffer[0..<0] : buffer[start..<nl])
        result.goodBytes += dropped + nl + 1 - start
        dropped = 0
        start = nl + 1
        scanFrom = start
      }
      buffer.removeFirst(start)
      scanFrom = buffer.count
      if buffer.count > maxLine {
        dropped += buffer.count
        buffer.removeAll(keepingCapacity: true)
        scanFrom = 0
      }
    }
    result.torn = (!buffer.isEmpty || dropped > 0) && !rejected
    return result
  }

  /// Buffers lines and writes them in 64 KiB pieces.
  struct Writer {
    let fd: Int32
    let tmpPath: String?
    var buffer: [UInt8] = []
    var written = 0
    var error: Int32 = 0

    init(creating tmp: String) throws {
      fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
      guard fd >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
      tmpPath = tmp
      buffer.reserveCapacity(1 << 16)
    }

    init(appendingTo fd: Int32) {
      self.fd = fd
      tmpPath = nil
      buffer.reserveCapacity(1 << 16)
    }

    mutating func append(_ byte: UInt8) { buffer.append(byte) }
    mutating func append(_ string: String) { buffer.append(contentsOf: string.utf8) }
    mutating func append(_ data: Data) {
      buffer.append(contentsOf: data)
      if buffer.count >= 1 << 16 { drain() }
    }

    private mutating func drain() {
      guard error == 0 else {
        buffer.removeAll(keepingCapacity: true)
        return
      }
      buffer.withUnsafeBytes { raw in
        var off = 0
        while off < raw.count {
          let n = Glibc.write(fd, raw.baseAddress! + off, raw.count - off)
          if n < 0 {
            if errno == EINTR { continue }
            error = errno
            return
          }
          off += n
        }
      }
      written += buffer.count
      buffer.removeAll(keepingCapacity: true)
    }

    /// Closes and removes the temporary file.
    func abandon() {
      close(fd)
      if let tmpPath { unlink(tmpPath) }
    }

    /// Writes the rest and fdatasyncs; returns the bytes written.
    mutating func finishAppend() throws -> Int {
      drain()
      if error == 0 && fdatasync(fd) != 0 { error = errno }
      guard error == 0 else { throw POSIXError(POSIXErrorCode(rawValue: error) ?? .EIO) }
      return written
    }

    /// Writes the rest, fsyncs, closes, renames over `path` and fsyncs the directory.
    mutating func finish(renamingTo path: String) throws -> Int {
      drain()
      if error == 0 && fsync(fd) != 0 { error = errno }
      close(fd)
      guard error == 0, rename(tmpPath!, path) == 0 else {
        let code = error != 0 ? error : errno
        unlink(tmpPath!)
        throw POSIXError(POSIXErrorCode(rawValue: code) ?? .EIO)
      }
      let dir = (path as NSString).deletingLastPathComponent
      let dfd = open(dir.isEmpty ? "." : dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
      if dfd >= 0 {
        _ = fsync(dfd)
        close(dfd)
      }
      return written
    }
  }
}

/// Temp file, fsync, rename, fsync of the directory.
enum AtomicFile {
  static func write(_ data: Data, to path: String) throws {
    var out = try LineFile.Writer(creating: path + ".new")
    out.append(data)
    _ = try out.finish(renamingTo: path)
  }
}

/// Feed states by URL, each stored once in an array with an index of the URLs. A
/// dictionary of the states themselves (about 300 bytes each) kept a quarter to a half
/// of its buckets empty: 5 MB at 10,000 feeds, against 3.4 MB here.
struct StateTable: Sendable {
  private var index: [String: Int] = [:]
  private(set) var rows: [FeedState] = []

  var count: Int { rows.count }

  subscript(url: String) -> FeedState? {
    get { index[url].map { rows[$0] } }
    set {
      if let i = index[url] {
        if let newValue {
          rows[i] = newValue
        } else {  // the last row takes the removed one's place
          index[url] = nil
          let last = rows.removeLast()
          if i < rows.count {
            rows[i] = last
            index[last.url] = i
          }
        }
      } else if let newValue {
        index[url] = rows.count
        rows.append(newValue)
      }
    }
  }

  /// Room for `count` states, so that a load appends without doubling the array (and
  /// without leaving up to half of it empty).
  mutating func reserve(_ count: Int) {
    rows.reserveCapacity(count)
    index.reserveCapacity(count)
  }
}
