import Dispatch
import Synchronization

#if canImport(Glibc)
  import Glibc
#endif

/// An article ready for delivery.
public struct PendingArticle: Sendable {
  /// Hash of the canonical URL: the dedup key.
  public var key: URLKey
  /// Wanted file name, `YYYY-MM-DD-slug.md`; made unique in the spool.
  public var fileName: String
  /// The whole file: front matter and body.
  public var contents: String

  public init(key: URLKey, fileName: String, contents: String) {
    self.key = key
    self.fileName = fileName
    self.contents = contents
  }
}

/// A Maildir spool with an ordered delivery log and a seen index.
///
/// Delivery of a group of articles (group commit):
/// 1. each file is written to `tmp/SEQ-NAME`, and the group made durable (its
///    fsync for one file, one syncfs(2) of the spool's file system for several);
/// 2. their records are appended to the delivery log, which is fsynced: this is the
///    commit point, the moment an article counts as delivered and seen;
/// 3. each file is renamed into `new/NAME`, and `new/` is fsynced;
/// 4. the keys go into the seen table (`STATE/seen.tbl`, a cache of the log).
///
/// Opening the spool recovers from a crash at any step: records whose file is still
/// in `tmp/` are rolled forward (renamed into `new/`), files in `tmp/` without a
/// record are removed, a torn log line is cut, and the seen index is checked
/// against the log and rebuilt from it if they disagree. So no reader ever sees a
/// partial file, no article is delivered twice, and an article whose delivery did
/// not commit is simply fetched and delivered again later.
public final class Spool: @unchecked Sendable {
  // @unchecked: `log` and `nextSeq` are touched only on `queue`; the seen table is
  // behind `seen`; the rest is immutable.
  public let directory: String
  let logPath: String
  private var logFD: Int32
  /// False while the spool's file system refused writes (read-only); every
  /// delivery then tries to reopen the log for writing first.
  private var writable: Bool
  /// The spool's lock (its `.feedspool` directory), held while this exists.
  private let lock: DirectoryLock
  /// The state directory's lock (nil when it is the spool's own `.feedspool`).
  private let stateLock: DirectoryLock?
  /// tmp/, new/ and cur/, open for the *at() calls of every delivery.
  private var tmpFD: Int32
  private var newFD: Int32
  private var curFD: Int32
  /// Committed deliveries whose rename into new/ failed (new/ unwritable, or replaced
  /// under the daemon): tried again at every commit; their names stay taken meanwhile.
  private var stuck: [DeliveryRecord] = []
  /// cur/'s modification time when it was last found empty: while it has not changed,
  /// names need no checking against cur/ (a Maildir reader moves read files there).
  private var curEmptyAt: timespec?
  /// For stems that collided: the suffix the next search for a free name starts from
  /// (on the delivery queue, like `curEmptyAt`).
  private var nextSuffix: [String: Int] = [:]
  /// cur/'s names as `curNames` last listed them, and cur/'s modification time then.
  private var curListed: Set<String> = []
  private var curListedAt: timespec?
  private var nextSeq: UInt64
  private let seen: Mutex<SeenTable>
  private let pending = Mutex<(requests: [Request], running: Bool)>(([], false))
  private let queue = DispatchQueue(label: "feedspool.spool")

  struct Request {
    var items: [PendingArticle]
    var continuation: CheckedContinuation<Result<[DeliveryRecord], SpoolError>, Never>
  }

  /// Opens (creating if needed) the spool at `directory`, keeping the seen index in
  /// `stateDirectory`. Takes an exclusive lock: one daemon per spool.
  public init(directory: String, stateDirectory: String) throws(SpoolError) {
    self.directory = directory
    for sub in ["tmp", "new", "cur", ".feedspool"] { try FileIO.mkdirs(directory + "/" + sub) }
    try FileIO.mkdirs(stateDirectory)

    // One daemon per spool, held on the .feedspool directory; and one per state
    // directory too (two daemons with two spools and one state directory each marked
    // the other's articles seen in the shared table), unless it is that same directory.
    lock = try DirectoryLock(
      directory + "/.feedspool", what: "another feedspool is using this spool")
    stateLock =
      lock.isSame(as: stateDirectory)
      ? nil
      : try DirectoryLock(stateDirectory, what: "another feedspool is using this state directory")

    let dirs = ["tmp", "new", "cur"].map {
      open(directory + "/" + $0, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    }
    if let bad = dirs.firstIndex(where: { $0 < 0 }) {
      let e = FileIO.fail("open", directory + "/" + ["tmp", "new", "cur"][bad])
      for fd in dirs where fd >= 0 { close(fd) }
      throw e
    }
    (tmpFD, newFD, curFD) = (dirs[0], dirs[1], dirs[2])

    logPath = DeliveryLog.path(spool: directory)
    var fd = open(logPath, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
    writable = fd >= 0
    if fd < 0 && (errno == EROFS || errno == EACCES || errno == EPERM) {
      // A read-only spool: read what was delivered; deliveries fail until it is
      // writable again.
      fd = open(logPath, O_RDONLY | O_CLOEXEC)
      if fd < 0 && errno == ENOENT { fd = open("/dev/null", O_RDONLY | O_CLOEXEC) }
    }
    if fd < 0 { throw FileIO.fail("open", logPath) }
    logFD = fd

    let table = try SeenTable.open(path: stateDirectory + "/seen.tbl")
    // The index of earlier versions (a flat list of keys) is replaced by the table,
    // which a fresh start rebuilds from the log.
    unlink(stateDirectory + "/seen.idx")
    let n = table.covered
    var tail = try DeliveryLog.tail(fd: logFD, path: logPath, after: n == 0 ? 0 : n - 1)
    // The table must vouch for exactly what the log says record n is.
    if n > 0 {
      let agrees = tail.records.first.map { $0.seq == n && $0.key.value == table.lastKey } ?? false
      if agrees {
        tail.records.removeFirst()
      } else {
        try table.reset()
        tail = try DeliveryLog.tail(fd: logFD, path: logPath, after: 0)
      }
    }
    // Cut a torn last line (its delivery never committed).
    if writable, try FileIO.fileSize(logFD, path: logPath) != tail.completeSize {
      if ftruncate(logFD, off_t(tail.completeSize)) != 0 {
        throw FileIO.fail("truncate", logPath)
      }
    }
    // Roll forward committed deliveries whose rename did not happen.
    if writable {
      try Self.recoverTmp(directory: directory, logFD: logFD, logPath: logPath, known: tail.records)
    }
    for r in tail.records { table.insert(r.key.value, seq: r.seq) }
    try table.checkpoint()

    self.nextSeq = max(tail.lastSeq, table.covered) + 1
    self.seen = Mutex(table)
  }

  deinit {
    // A clean close vouches for everything: the next start replays nothing.
    seen.withLock { try? $0.checkpoint() }
    close(logFD)
    for fd in [tmpFD, newFD, curFD] { close(fd) }
  }

  /// Whether an article with this key was delivered (committed).
  public func contains(_ key: URLKey) -> Bool {
    seen.withLock { $0.contains(key.value) }
  }

  /// Number of articles delivered so far.
  public var count: Int { seen.withLock { $0.entries } }

  /// Delivers the articles whose keys were not delivered before (also skipping
  /// repeats within `articles`), durably, and returns their records in order.
  /// Deliveries requested concurrently are committed together (one log fsync).
  /// On failure (disk full, read-only spool...) nothing of this group is delivered
  /// or marked seen, and the error says why.
  public func deliver(_ articles: [PendingArticle]) async throws(SpoolError) -> [DeliveryRecord] {
    if articles.isEmpty { return [] }
    let result = await withCheckedContinuation {
      (c: CheckedContinuation<Result<[DeliveryRecord], SpoolError>, Never>) in
      let start = pending.withLock { st -> Bool in
        st.requests.append(Request(items: articles, continuation: c))
        if st.running { return false }
        st.running = true
        return true
      }
      if start { queue.async { self.drain() } }
    }
    return try result.get()
  }

  private func drain() {
    while true {
      let batch = pending.withLock { st -> [Request] in
        let r = st.requests
        st.requests = []
        if r.isEmpty { st.running = false }
        return r
      }
      if batch.isEmpty { return }
      let results = commit(batch)
      for (req, res) in zip(batch, results) { req.continuation.resume(returning: res) }
    }
  }

  /// Runs on `queue`. One group commit for every request in `batch`.
  private func commit(_ batch: [Request]) -> [Result<[DeliveryRecord], SpoolError>] {
    let seqBefore = nextSeq
    var taken = Set<UInt128>()
    var names = Set<String>()
    var perRequest: [[DeliveryRecord]] = []
    var written: [String] = []
    do throws(SpoolError) {
      if !writable {
        // Space or write access may have come back: reopen, and recover what a crash
        // before this start left (a read-only start could not): a torn last line cut
        // (else the next record is appended to it), tmp/ rolled forward or cleared.
        let fd = open(logPath, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
        if fd < 0 { throw FileIO.fail("open", logPath) }
        let tail = try DeliveryLog.tail(fd: fd, path: logPath, after: nextSeq > 1 ? nextSeq - 2 : 0)
        if try FileIO.fileSize(fd, path: logPath) != tail.completeSize {
          if ftruncate(fd, off_t(tail.completeSize)) != 0 {
            let e = FileIO.fail("truncate", logPath)
            close(fd)
            throw e
          }
        }
        try Self.recoverTmp(directory: directory, logFD: fd, logPath: logPath, known: tail.records)
        close(logFD)
        logFD = fd
        writable = true
      }
      try reopenDirectories()
      if !stuck.isEmpty {
        stuck.removeAll { renameat(tmpFD, "\($0.seq)-\($0.name)", newFD, $0.name) == 0 }
        for r in stuck { names.insert(r.name) }
      }
      // The keys of this batch already delivered, looked up under the lock (a copy of
      // the whole set here would make the insert below copy it again).
      let seenBefore = seen.withLock { s in
        var hit = Set<UInt128>()
        for req in batch {
          for item in req.items where s.contains(item.key.value) { hit.insert(item.key.value) }
        }
        return hit
      }
      let checkCur = !curIsUnchangedEmpty()
      for req in batch {
        var records: [DeliveryRecord] = []
        for item in req.items {
          let k = item.key.value
          if seenBefore.contains(k) || taken.contains(k) { continue }
          taken.insert(k)
          let name = uniqueName(Self.safeName(item.fileName), reserved: &names, checkCur: checkCur)
          let r = DeliveryRecord(seq: nextSeq, key: item.key, name: name)
          nextSeq += 1
          let tmpName = "\(r.seq)-\(name)"
          try FileIO.create(
            in: tmpFD, tmpName, contents: item.contents, path: directory + "/tmp/" + tmpName)
          written.append(tmpName)
          records.append(r)
        }
        perRequest.append(records)
      }
      let all = perRequest.flatMap { $0 }
      if all.isEmpty { return perRequest.map { .success($0) } }
      // Every file of the group durable before the commit point. One file: its
      // fsync; more: one syncfs of the spool's file system.
      if written.count == 1 {
        try FileIO.fsyncFile(directory + "/tmp/" + written[0])
      } else {
        try FileIO.syncFileSystem(tmpFD, path: directory + "/tmp")
      }
      // Commit point: the log lines, durable.
      let sizeBefore = try FileIO.fileSize(logFD, path: logPath)
      do {
        try FileIO.writeAll(logFD, all.map(\.line).joined(), path: logPath)
        try FileIO.fsyncFD(logFD, path: logPath)
      } catch {
        _ = ftruncate(logFD, off_t(sizeBefore))
        throw error
      }
      // From here the deliveries exist; what follows is redone at start-up if cut.
      for r in all where renameat(tmpFD, "\(r.seq)-\(r.name)", newFD, r.name) != 0 {
        // The record is committed: tried again at the next commit, and rolled forward
        // by the next start.
        stuck.append(r)
      }
      _ = fsync(newFD)
      seen.withLock { t in
        for r in all { t.insert(r.key.value, seq: r.seq) }
        t.checkpointIfDue()
      }
      return perRequest.map { .success($0) }
    } catch {
      for name in written { unlinkat(tmpFD, name, 0) }
      nextSeq = seqBefore
      return batch.map { _ in .failure(error) }
    }
  }

  /// A file name that is safe whatever the network sent: `[a-z0-9-]` (upper-case
  /// letters lowered, every other character one `-`), no leading or trailing dash, at
  /// most 116 bytes before `.md`.
  static func safeName(_ wanted: String) -> String {
    var stem = Array(wanted.utf8)
    if stem.count >= 3 && stem[(stem.count - 3)...].elementsEqual(".md".utf8) {
      stem.removeLast(3)
    }
    // Nearly always already so (the article file name is made so): no copy then.
    let clean =
      !stem.isEmpty && stem.count <= 116 && stem.first != 0x2D && stem.last != 0x2D
      && stem.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2D }
    if clean { return wanted.utf8.count == stem.count + 3 ? wanted : wanted + ".md" }
    var out: [UInt8] = []
    out.reserveCapacity(min(stem.count, 116) + 3)
    for b in stem {
      switch b {
      case 0x61...0x7A, 0x30...0x39: out.append(b)
      case 0x41...0x5A: out.append(b | 0x20)
      case 0x80...0xBF: continue  // a scalar's continuation bytes: its one `-` is written
      default:
        if !out.isEmpty { out.append(0x2D) }  // none leading
      }
      if out.count >= 116 { break }
    }
    while out.last == 0x2D { out.removeLast() }
    if out.isEmpty { out = Array("article".utf8) }
    out.append(contentsOf: ".md".utf8)
    return String(decoding: out, as: UTF8.self)
  }

  /// `stem-N.md` or `stem.md` made free: the wanted name, else the first free `-N` from
  /// where the last search for that stem stopped (`nextSuffix`). Probing from 2 each time
  /// made a feed of 1,000 same-titled items a day cost 2 s more per 1,000 files already
  /// delivered.
  private func uniqueName(_ base: String, reserved: inout Set<String>, checkCur: Bool) -> String {
    let stem = String(base.dropLast(3))
    var candidate = base
    var n = 2
    if let next = nextSuffix[stem] {
      n = next
      candidate = "\(stem)-\(n).md"
      n += 1
    }
    while reserved.contains(candidate) || nameTaken(candidate, checkCur: checkCur) {
      candidate = "\(stem)-\(n).md"
      n += 1
    }
    if candidate != base {
      if nextSuffix.count >= Self.maxSuffixStems { nextSuffix.removeAll(keepingCapacity: true) }
      nextSuffix[stem] = n
    }
    reserved.insert(candidate)
    return candidate
  }

  /// Stems whose next free suffix is remembered; past this the memory starts again (a
  /// forgotten stem is searched from 2 once more).
  static let maxSuffixStems = 4096

  /// Files left in tmp/ by a crash or a failed rename: those the log records (named
  /// `SEQ-NAME`) go into new/ under their name when it is free (else they stay, not
  /// lost); the rest were never committed and are removed. `known` are the records
  /// already read from the log's end; a leftover older than them is looked up further
  /// back (a clean stop's checkpoint vouches for records whose file was still in tmp/).
  private static func recoverTmp(
    directory: String, logFD: Int32, logPath: String, known: [DeliveryRecord]
  ) throws(SpoolError) {
    let leftovers = FileIO.list(directory + "/tmp")
    if !leftovers.isEmpty {
      var records: [String: DeliveryRecord] = [:]
      for r in known { records["\(r.seq)-\(r.name)"] = r }
      let oldest = leftovers.compactMap { name -> UInt64? in
        guard records[name] == nil, let dash = name.firstIndex(of: "-") else { return nil }
        return UInt64(name[..<dash])
      }.min()
      if let oldest, oldest > 0, oldest < (known.first?.seq ?? .max) {
        for r in try DeliveryLog.tail(fd: logFD, path: logPath, after: oldest - 1).records {
          records["\(r.seq)-\(r.name)"] = r
        }
      }
      for name in leftovers {
        let tmp = directory + "/tmp/" + name
        guard let r = records[name] else {
          unlink(tmp)
          continue
        }
        var st = stat()
        if lstat(directory + "/new/" + r.name, &st) == 0 { continue }
        if rename(tmp, directory + "/new/" + r.name) != 0 { throw FileIO.fail("rename", tmp) }
      }
    }
    try FileIO.fsyncDirectory(directory + "/new")
  }

  /// tmp/, new/ and cur/ opened again when the open ones are no longer there under their
  /// names (removed, or moved away and made anew, while the daemon ran): deliveries
  /// went into a directory nobody sees, or failed.
  private func reopenDirectories() throws(SpoolError) {
    func current(_ fd: Int32, _ sub: String) throws(SpoolError) -> Int32 {
      let path = directory + "/" + sub
      var open_ = stat()
      var named = stat()
      if fstat(fd, &open_) == 0, stat(path, &named) == 0, open_.st_dev == named.st_dev,
        open_.st_ino == named.st_ino, open_.st_nlink > 0
      {
        return fd
      }
      try FileIO.mkdirs(path)
      let fresh = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
      if fresh < 0 { throw FileIO.fail("open", path) }
      close(fd)
      return fresh
    }
    tmpFD = try current(tmpFD, "tmp")
    newFD = try current(newFD, "new")
    let cur = try current(curFD, "cur")
    if cur != curFD {
      curFD = cur
      curEmptyAt = nil
      curListedAt = nil
    }
  }

  private func nameTaken(_ name: String, checkCur: Bool) -> Bool {
    if FileIO.exists(in: newFD, name) { return true }
    guard checkCur else { return false }
    // The usual spellings looked up directly (a listing may miss a move made within the
    // same tick of cur/'s modification time), any other from the listing.
    return FileIO.exists(in: curFD, name) || FileIO.exists(in: curFD, name + ":2,")
      || FileIO.exists(in: curFD, name + ":2,S") || curNames().contains(name)
  }

  /// cur/'s names without their Maildir info (a reader writes `NAME:2,` plus any flags:
  /// `S`, `RS`, `FS`, ...), listed again only when cur/ changed.
  private func curNames() -> Set<String> {
    var st = stat()
    guard fstat(curFD, &st) == 0 else { return [] }
    let now = st.st_mtim
    if let at = curListedAt, at.tv_sec == now.tv_sec, at.tv_nsec == now.tv_nsec {
      return curListed
    }
    curListed = Set(FileIO.names(directory + "/cur").map(Maildir.withoutInfo))
    curListedAt = now
    return curListed
  }

  /// True while cur/ is known empty: its modification time is the one it had when it
  /// was last listed empty. The time is read before listing, so a change during the
  /// listing shows at the next check.
  private func curIsUnchangedEmpty() -> Bool {
    var st = stat()
    guard fstat(curFD, &st) == 0 else { return false }
    let now = st.st_mtim
    if let was = curEmptyAt, was.tv_sec == now.tv_sec, was.tv_nsec == now.tv_nsec { return true }
    if FileIO.hasEntries(directory + "/cur") {
      curEmptyAt = nil
      return false
    }
    curEmptyAt = now
    return true
  }
}

/// An exclusive `flock` on a directory (it works on a read-only file system too), held
/// until this goes. Another owner may be just letting go (a process still exiting, or an
/// earlier holder in this process): it is waited for up to two seconds.
final class DirectoryLock {
  let fd: Int32

  init(_ path: String, what: String) throws(SpoolError) {
    let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    if fd < 0 { throw FileIO.fail("open", path) }
    var attempts = 0
    while flock(fd, LOCK_EX | LOCK_NB) != 0 {
      let code = errno
      attempts += 1
      if code != EWOULDBLOCK || attempts >= 200 {
        errno = code
        let e = FileIO.fail("lock (\(what))", path)
        close(fd)
        throw e
      }
      usleep(10_000)
    }
    self.fd = fd
  }

  /// Whether `path` names the locked directory (a second lock on it would wait for this
  /// one).
  func isSame(as path: String) -> Bool {
    var mine = stat()
    var theirs = stat()
    return fstat(fd, &mine) == 0 && stat(path, &theirs) == 0 && mine.st_dev == theirs.st_dev
      && mine.st_ino == theirs.st_ino
  }

  deinit { close(fd) }
}
