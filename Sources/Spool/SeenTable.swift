#if canImport(Glibc)
  import Glibc
#endif

/// The set of delivered articles' keys, as `STATE/seen.tbl`: a hash table in a file,
/// mapped into memory, so that opening it costs the same with ten URLs or ten million
/// (nothing is read or hashed at start-up) and lookups touch one or two pages.
///
/// Layout: a 4 KiB header, then `slots` slots of 16 bytes (a key, little-endian low
/// half first; all zero = empty), open addressing with linear probing, the home slot
/// chosen from the key's high 64 bits (keys are Murmur3 hashes: uniform already). The
/// table grows by half when 85% full, so it holds 19 to 28 bytes per URL. (Linear
/// probing at 85%: a miss reads about 23 slots, 6 cache lines in a row; a hit about 4.)
///
/// The file is a cache of the delivery log, never a second truth. Its header records
/// the log position it covers (`covered`: every record up to that seq is in the table,
/// and `lastKey` is that record's key), written only after the slots are on disk
/// (`checkpoint`). At start-up the spool checks `lastKey` against the log and inserts
/// the records after `covered`; if they disagree, the table is rebuilt from the log.
/// Slots written after the last checkpoint only ever hold committed keys, so a crash
/// at any point leaves a table that is right once the log tail is replayed.
final class SeenTable {
  static let magic: [UInt8] = Array("FSSTBL01".utf8)
  static let headerSize = 4096
  static let slotSize = 16
  static let initialSlots = 1024

  let path: String
  private var fd: Int32
  private var base: UnsafeMutableRawPointer
  private var mappedSize: Int
  private(set) var slots: Int
  /// Keys in the table (occupied slots, plus the zero key if present).
  private(set) var entries: Int
  /// Seq of the last log record inserted, and its key.
  private(set) var covered: UInt64
  private(set) var lastKey: UInt128?
  private var checkpointedAt: UInt64
  /// A process that died after storing keys and before its checkpoint left them in the
  /// slots but not in the header's count: a replayed record above this seq whose key is
  /// already there is counted then. Exact again after a growth (which counts the slots).
  private var uncountedAbove: UInt64 = .max
  /// The all-zero key cannot live in a slot (it marks empty ones).
  private var hasZero: Bool
  /// Keys that could not be put in the file (it could not grow: disk full): kept in
  /// memory so that this process still never delivers them twice; the log replay at
  /// the next start puts them in the file.
  private var overflow = Set<UInt128>()

  private init(
    path: String, fd: Int32, base: UnsafeMutableRawPointer, mappedSize: Int, slots: Int
  ) {
    self.path = path
    self.fd = fd
    self.base = base
    self.mappedSize = mappedSize
    self.slots = slots
    entries = 0
    covered = 0
    lastKey = nil
    checkpointedAt = 0
    hasZero = false
  }

  deinit {
    munmap(base, mappedSize)
    close(fd)
  }

  /// Opens (creating or starting afresh if it is missing, foreign or torn) the table.
  static func open(path: String) throws(SpoolError) -> SeenTable {
    let fd = Glibc.open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
    if fd < 0 { throw FileIO.fail("open", path) }
    let size: Int
    do {
      size = try FileIO.fileSize(fd, path: path)
    } catch {
      close(fd)
      throw error
    }
    if size >= headerSize {
      let head = (try? FileIO.pread(fd, offset: 0, count: 64, path: path)) ?? []
      if head.count == 64, Array(head[0..<8]) == magic {
        let word = { (at: Int) -> UInt64 in
          head[at..<at + 8].reversed().reduce(0) { $0 << 8 | UInt64($1) }
        }
        let slots = Int(word(8))
        let onDisk = allocated(fd, size)
        if slots >= initialSlots, slots <= Int.max / slotSize / 2,
          size == headerSize + slots * slotSize,
          let base = onDisk ? map(fd, size) : copyInMemory(fd, size)
        {
          let t = SeenTable(
            path: path, fd: onDisk ? fd : closed(fd), base: base, mappedSize: size, slots: slots)
          t.entries = Int(word(16))
          t.covered = word(24)
          t.checkpointedAt = t.covered
          t.uncountedAbove = t.covered
          if t.covered > 0 { t.lastKey = UInt128(word(40)) << 64 | UInt128(word(32)) }
          t.hasZero = word(48) != 0
          return t
        }
      }
    }
    do {
      return try fresh(path: path, fd: fd, slots: initialSlots)
    } catch {
      // No room for the file (a full disk): the table lives in memory this time; the
      // log, replayed at the next start, vouches for what is delivered meanwhile.
      guard let t = inMemory(path: path, slots: initialSlots) else { throw error }
      return t
    }
  }

  /// Whether the file's `size` bytes have their blocks (a sparse file's holes filled
  /// now): a write through the mapping into a hole on a full disk kills the process
  /// with SIGBUS, at every start after.
  private static func allocated(_ fd: Int32, _ size: Int) -> Bool {
    fd >= 0 && posix_fallocate(fd, 0, off_t(size)) == 0
  }

  private static func closed(_ fd: Int32) -> Int32 {
    close(fd)
    return -1
  }

  /// The file's table copied into anonymous memory (its blocks could not be had).
  private static func copyInMemory(_ fd: Int32, _ size: Int) -> UnsafeMutableRawPointer? {
    guard let copy = anonymous(size) else { return nil }
    guard let file = mmap(nil, size, PROT_READ, MAP_SHARED, fd, 0), file != MAP_FAILED else {
      munmap(copy, size)
      return nil
    }
    copy.copyMemory(from: file, byteCount: size)
    munmap(file, size)
    return copy
  }

  private static func anonymous(_ size: Int) -> UnsafeMutableRawPointer? {
    let p = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
    guard let p, p != MAP_FAILED else { return nil }
    return p
  }

  /// An empty table in anonymous memory, tied to no file (`fd` -1).
  private static func inMemory(path: String, slots: Int) -> SeenTable? {
    let size = headerSize + slots * slotSize
    guard let base = anonymous(size) else { return nil }
    let t = SeenTable(path: path, fd: -1, base: base, mappedSize: size, slots: slots)
    t.writeHeader()
    return t
  }

  private static func map(_ fd: Int32, _ size: Int) -> UnsafeMutableRawPointer? {
    let p = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)
    guard let p, p != MAP_FAILED else { return nil }
    // Lookups jump around the file: no read-ahead around each fault; instead the whole
    // table is read in the background now (start-up does not wait for it), so that
    // lookups soon after a cold start find it in memory.
    madvise(p, size, MADV_RANDOM)
    madvise(p, size, MADV_WILLNEED)
    return p
  }

  /// An empty table of `slots` slots in the file open as `fd` (its contents replaced).
  private static func fresh(path: String, fd: Int32, slots: Int) throws(SpoolError) -> SeenTable {
    let size = headerSize + slots * slotSize
    // Zeroes first (a shorter file), then the full size: every slot reads empty.
    if ftruncate(fd, 0) != 0 || ftruncate(fd, off_t(size)) != 0 {
      let e = FileIO.fail("truncate", path)
      close(fd)
      throw e
    }
    let failed = posix_fallocate(fd, 0, off_t(size))
    if failed != 0 {
      errno = failed
      let e = FileIO.fail("allocate", path)
      close(fd)
      throw e
    }
    guard let base = map(fd, size) else {
      let e = FileIO.fail("mmap", path)
      close(fd)
      throw e
    }
    let t = SeenTable(path: path, fd: fd, base: base, mappedSize: size, slots: slots)
    t.writeHeader()
    return t
  }

  /// Bytes the table takes on disk.
  var fileSize: Int { mappedSize }

  // MARK: Lookups and inserts

  @inline(__always) private func home(_ key: UInt128, _ slots: Int) -> Int {
    Int(UInt64(truncatingIfNeeded: key >> 64).multipliedFullWidth(by: UInt64(slots)).high)
  }

  @inline(__always) private func load(_ i: Int) -> UInt128 { Self.load(i, in: base) }

  @inline(__always) private static func load(_ i: Int, in base: UnsafeMutableRawPointer)
    -> UInt128
  {
    let p = base + headerSize + i * slotSize
    let lo = UInt64(littleEndian: p.loadUnaligned(as: UInt64.self))
    let hi = UInt64(littleEndian: p.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
    return UInt128(hi) << 64 | UInt128(lo)
  }

  private static func store(_ key: UInt128, at i: Int, in base: UnsafeMutableRawPointer) {
    let p = base + headerSize + i * slotSize
    p.storeBytes(of: UInt64(truncatingIfNeeded: key).littleEndian, as: UInt64.self)
    p.storeBytes(
      of: UInt64(truncatingIfNeeded: key >> 64).littleEndian, toByteOffset: 8, as: UInt64.self)
  }

  /// The slot holding `key`, or the empty slot where it would go (-1 if there is none:
  /// a table fuller than its count says, which only a damaged file can be).
  private func probe(_ key: UInt128) -> (slot: Int, found: Bool) {
    var i = home(key, slots)
    for _ in 0..<slots {
      let k = load(i)
      if k == key { return (i, true) }
      if k == 0 { return (i, false) }
      i += 1
      if i == slots { i = 0 }
    }
    return (-1, false)
  }

  func contains(_ key: UInt128) -> Bool {
    if key == 0 { return hasZero }
    return probe(key).found || (!overflow.isEmpty && overflow.contains(key))
  }

  /// Adds the key of log record `seq` (records come in seq order).
  func insert(_ key: UInt128, seq: UInt64) {
    defer {
      covered = max(covered, seq)
      lastKey = key
    }
    if key == 0 {
      if !hasZero {
        hasZero = true
        entries += 1
      }
      return
    }
    var (slot, found) = probe(key)
    if found {
      if seq > uncountedAbove { entries += 1 }
      return
    }
    if overflow.contains(key) { return }
    if (entries + 1) * 20 > slots * 17 || slot < 0 {
      do throws(SpoolError) {
        try grow()
      } catch {
        overflow.insert(key)
        return
      }
      slot = probe(key).slot
      if slot < 0 {
        overflow.insert(key)
        return
      }
    }
    Self.store(key, at: slot, in: base)
    entries += 1
  }

  // MARK: Durability

  private func writeHeader() {
    var head = [UInt8](repeating: 0, count: 64)
    head.replaceSubrange(0..<8, with: Self.magic)
    func put(_ v: UInt64, _ at: Int) {
      for b in 0..<8 { head[at + b] = UInt8(truncatingIfNeeded: v >> (8 * UInt64(b))) }
    }
    put(UInt64(slots), 8)
    put(UInt64(entries), 16)
    put(covered, 24)
    put(UInt64(truncatingIfNeeded: lastKey ?? 0), 32)
    put(UInt64(truncatingIfNeeded: (lastKey ?? 0) >> 64), 40)
    put(hasZero ? 1 : 0, 48)
    head.withUnsafeBytes { base.copyMemory(from: $0.baseAddress!, byteCount: 64) }
  }

  /// Slots to disk, then the header that vouches for them.
  func checkpoint() throws(SpoolError) {
    guard overflow.isEmpty else { return }  // the file lacks keys: let the log vouch
    guard fd >= 0 else { return }  // in memory: the file (and the log) stay as they were
    if msync(base, mappedSize, MS_SYNC) != 0 { throw FileIO.fail("msync", path) }
    writeHeader()
    if msync(base, Self.headerSize, MS_SYNC) != 0 { throw FileIO.fail("msync", path) }
    checkpointedAt = covered
  }

  /// A checkpoint once enough records went in since the last one (the replay at the
  /// next start stays short); errors leave the last checkpoint standing.
  func checkpointIfDue(every records: UInt64 = 4096) {
    if covered >= checkpointedAt + records { try? checkpoint() }
  }

  /// Empties the table (the log disagrees with it: it is rebuilt from there).
  func reset() throws(SpoolError) {
    overflow = []
    if fd >= 0, let t = try? Self.rebuilt(path: path, slots: Self.initialSlots, like: nil) {
      adopt(t)
      return
    }
    // In memory already, or no room for a new file.
    guard let t = Self.inMemory(path: path, slots: Self.initialSlots) else {
      throw SpoolError(operation: "mmap", path: path, errno: ENOMEM)
    }
    adopt(t)
  }

  /// Half as many slots again: every key into a new file, durable before it replaces
  /// this one by rename (a crash in between leaves the old table whole). The new header
  /// vouches for everything inserted so far, since the new file holds all of it.
  ///
  /// Memory: the keys go straight from the old mapping to the new one, and the old
  /// mapping's pages are dropped from this process (not from the file) as soon as they
  /// are read, so a growth holds little more than the new table (it held the old table,
  /// a copy of every key and the new table at once: 23 MB at 350,000 keys).
  ///
  /// The keys are counted as they are copied: the count is exact afterwards, whatever
  /// crashes left uncounted.
  private func grow() throws(SpoolError) {
    let old = base
    let count = slots
    adopt(
      try Self.rebuilt(path: path, slots: slots + slots / 2, like: self) { t in
        Self.moveKeys(from: old, slots: count, into: t)
      })
    uncountedAbove = .max
  }

  /// Copies every key of the mapping at `old` into `t`, 1 MiB of slots at a time, each
  /// piece's pages dropped from this process once read; returns how many were copied.
  /// The pieces start on page boundaries (the header is one page; the first piece takes
  /// it along), and madvise rounds the last one's length up to whole pages.
  private static func moveKeys(from old: UnsafeMutableRawPointer, slots: Int, into t: SeenTable)
    -> Int
  {
    let chunk = (1 << 20) / slotSize
    var copied = 0
    for start in stride(from: 0, to: slots, by: chunk) {
      let end = min(slots, start + chunk)
      for i in start..<end {
        let k = load(i, in: old)
        if k != 0 {
          store(k, at: t.probe(k).slot, in: t.base)
          copied += 1
        }
      }
      let from = start == 0 ? 0 : headerSize + start * slotSize
      madvise(old + from, headerSize + end * slotSize - from, MADV_DONTNEED)
    }
    return copied
  }

  /// A new file of `slots` slots that `fill` fills (returning how many keys it stored),
  /// with `like`'s position in the log, renamed over `path`.
  private static func rebuilt(
    path: String, slots: Int, like: SeenTable?, fill: (SeenTable) -> Int = { _ in 0 }
  ) throws(SpoolError) -> SeenTable {
    if let like, like.fd < 0 {
      // A table in memory grows in memory.
      guard let t = inMemory(path: path, slots: slots) else {
        throw SpoolError(operation: "mmap", path: path, errno: ENOMEM)
      }
      t.entries = fill(t)
      t.covered = like.covered
      t.lastKey = like.lastKey
      t.hasZero = like.hasZero
      if like.hasZero { t.entries += 1 }
      t.writeHeader()
      return t
    }
    let tmp = path + ".new"
    unlink(tmp)
    let fd = Glibc.open(tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
    if fd < 0 { throw FileIO.fail("open", tmp) }
    let t = try fresh(path: tmp, fd: fd, slots: slots)
    t.entries = fill(t)
    if let like {
      t.covered = like.covered
      t.lastKey = like.lastKey
      t.hasZero = like.hasZero
      if like.hasZero { t.entries += 1 }
    }
    t.writeHeader()
    if msync(t.base, t.mappedSize, MS_SYNC) != 0 {
      unlink(tmp)
      throw FileIO.fail("msync", tmp)
    }
    if rename(tmp, path) != 0 {
      unlink(tmp)
      throw FileIO.fail("rename", tmp)
    }
    return t
  }

  /// Takes over `other`'s file and mapping.
  private func adopt(_ other: SeenTable) {
    munmap(base, mappedSize)
    close(fd)
    fd = other.fd
    base = other.base
    mappedSize = other.mappedSize
    slots = other.slots
    entries = other.entries
    covered = other.covered
    lastKey = other.lastKey
    checkpointedAt = other.covered
    hasZero = other.hasZero
    // `other` must not unmap or close what is now ours.
    other.fd = -1
    other.base = UnsafeMutableRawPointer(bitPattern: 1)!
    other.mappedSize = 0
  }
}
