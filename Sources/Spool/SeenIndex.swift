#if canImport(Glibc)
  import Glibc
#endif

/// The set of delivered articles' keys: in memory for lookups, and on disk as
/// `STATE/seen.idx`, a header and 16 bytes per URL, record i holding the key of
/// delivery seq i+1.
///
/// The file is a cache of the delivery log, never a second truth: it is appended
/// after the log, checked against the log at start-up, and rebuilt from it when they
/// disagree.
struct SeenIndex {
  static let magic: [UInt8] = Array("FSSEEN01".utf8)
  static let recordSize = 16

  let path: String
  private(set) var fd: Int32
  /// Records in the file.
  private(set) var count: Int
  var keys: Set<UInt128>
  /// The key of record `count - 1`, to check the file against the log.
  private(set) var lastKey: UInt128?

  static func open(path: String) throws(SpoolError) -> SeenIndex {
    let fd = Glibc.open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
    if fd < 0 { throw FileIO.fail("open", path) }
    var index = SeenIndex(path: path, fd: fd, count: 0, keys: [], lastKey: nil)
    let size = try FileIO.fileSize(fd, path: path)
    if size < magic.count {
      try index.reset()
      return index
    }
    let bytes = try FileIO.pread(fd, offset: 0, count: size, path: path)
    guard Array(bytes[0..<magic.count]) == magic else {
      try index.reset()
      return index
    }
    let n = (size - magic.count) / recordSize
    index.keys.reserveCapacity(n + n / 4)
    bytes.withUnsafeBytes { raw in
      var off = magic.count
      for _ in 0..<n {
        let lo = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: off, as: UInt64.self))
        let hi = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: off + 8, as: UInt64.self))
        let k = (UInt128(hi) << 64) | UInt128(lo)
        index.keys.insert(k)
        index.lastKey = k
        off += recordSize
      }
    }
    index.count = n
    // Drop a torn record.
    if size != magic.count + n * recordSize {
      if ftruncate(fd, off_t(magic.count + n * recordSize)) != 0 {
        throw FileIO.fail("truncate", path)
      }
    }
    return index
  }

  /// Empties the file and the set.
  mutating func reset() throws(SpoolError) {
    if ftruncate(fd, 0) != 0 { throw FileIO.fail("truncate", path) }
    let wrote = Self.magic.withUnsafeBytes { b in pwrite(fd, b.baseAddress, b.count, 0) }
    if wrote != Self.magic.count { throw FileIO.fail("write", path) }
    count = 0
    keys = []
    lastKey = nil
  }

  /// Appends keys (in seq order) to the file and the set.
  mutating func append(_ newKeys: [UInt128]) throws(SpoolError) {
    guard !newKeys.isEmpty else { return }
    var buf = [UInt8](repeating: 0, count: newKeys.count * Self.recordSize)
    buf.withUnsafeMutableBytes { raw in
      for (i, k) in newKeys.enumerated() {
        raw.storeBytes(
          of: UInt64(truncatingIfNeeded: k).littleEndian, toByteOffset: i * 16, as: UInt64.self)
        raw.storeBytes(
          of: UInt64(truncatingIfNeeded: k >> 64).littleEndian, toByteOffset: i * 16 + 8,
          as: UInt64.self)
      }
    }
    let offset = Self.magic.count + count * Self.recordSize
    var done = 0
    while done < buf.count {
      let n = buf.withUnsafeBytes { b in
        pwrite(fd, b.baseAddress! + done, b.count - done, off_t(offset + done))
      }
      if n < 0 {
        if errno == EINTR { continue }
        throw FileIO.fail("write", path)
      }
      done += n
    }
    for k in newKeys { keys.insert(k) }
    count += newKeys.count
    lastKey = newKeys.last
  }

  func sync() throws(SpoolError) { try FileIO.fsyncFD(fd, path: path) }

  func close() { _ = Glibc.close(fd) }
}
