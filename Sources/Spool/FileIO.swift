#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Errors of the spool's file layer, with the path and the errno text.
public struct SpoolError: Error, Sendable, CustomStringConvertible {
  public var operation: String
  public var path: String
  public var errno: Int32
  public var description: String {
    "\(operation) \(path): \(String(cString: strerror(errno)))"
  }
  public var isDiskFull: Bool { errno == ENOSPC || errno == EDQUOT }
}

/// Thin POSIX file helpers: every write is checked, every durable step fsyncs.
enum FileIO {
  static func fail(_ op: String, _ path: String) -> SpoolError {
    SpoolError(operation: op, path: path, errno: errno)
  }

  static func mkdirs(_ path: String) throws(SpoolError) {
    var built = path.hasPrefix("/") ? "" : "."
    for part in path.split(separator: "/") {
      built += "/" + part
      if mkdir(built, 0o755) != 0 && errno != EEXIST { throw fail("mkdir", built) }
    }
  }

  /// Writes all bytes to `fd`, retrying short writes and EINTR.
  static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, path: String)
    throws(SpoolError)
  {
    var off = 0
    while off < bytes.count {
      let n = write(fd, bytes.baseAddress! + off, bytes.count - off)
      if n < 0 {
        if errno == EINTR { continue }
        throw fail("write", path)
      }
      off += n
    }
  }

  static func writeAll(_ fd: Int32, _ string: String, path: String) throws(SpoolError) {
    var s = string
    let r: Result<Void, SpoolError> = s.withUTF8 { buf in
      do throws(SpoolError) {
        try writeAll(fd, UnsafeRawBufferPointer(buf), path: path)
        return .success(())
      } catch { return .failure(error) }
    }
    try r.get()
  }

  static func fsyncFD(_ fd: Int32, path: String) throws(SpoolError) {
    if fsync(fd) != 0 && errno != EINVAL { throw fail("fsync", path) }
  }

  static func fsyncFile(_ path: String) throws(SpoolError) {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    if fd < 0 { throw fail("open", path) }
    defer { close(fd) }
    try fsyncFD(fd, path: path)
  }

  static func fsyncDirectory(_ path: String) throws(SpoolError) {
    let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    if fd < 0 { throw fail("open", path) }
    defer { close(fd) }
    try fsyncFD(fd, path: path)
  }

  /// Creates `name` in the directory `dirFD` exclusively, writes `contents` and closes it,
  /// without fsync (the caller makes a whole group durable at once with `syncFileSystem`).
  /// On any failure the partial file is removed. Relative to an open directory: one path
  /// component to resolve instead of the spool's whole path, for every article. `path`
  /// names the file in errors.
  static func create(in dirFD: Int32, _ name: String, contents: String, path: String)
    throws(SpoolError)
  {
    let fd = openat(dirFD, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
    if fd < 0 { throw fail("create", path) }
    do {
      try writeAll(fd, contents, path: path)
    } catch {
      close(fd)
      unlinkat(dirFD, name, 0)
      throw error
    }
    if close(fd) != 0 {
      let e = fail("close", path)
      unlinkat(dirFD, name, 0)
      throw e
    }
  }

  /// Whether `name` is an entry of the directory (a symbolic link counts, even one that
  /// leads nowhere: a delivery must not write through it).
  static func exists(in dirFD: Int32, _ name: String) -> Bool {
    var st = stat()
    return fstatat(dirFD, name, &st, AT_SYMLINK_NOFOLLOW) == 0
  }

  /// The names in a directory, "." and ".." left out; empty when it cannot be read.
  static func names(_ path: String) -> [String] {
    guard let d = opendir(path) else { return [] }
    defer { closedir(d) }
    var out: [String] = []
    while let e = readdir(d) {
      let name = withUnsafeBytes(of: e.pointee.d_name) { b in
        String(decoding: b.prefix { $0 != 0 }, as: UTF8.self)
      }
      if name != "." && name != ".." { out.append(name) }
    }
    return out
  }

  /// Whether a directory holds any entry besides "." and "..".
  static func hasEntries(_ path: String) -> Bool {
    guard let d = opendir(path) else { return false }
    defer { closedir(d) }
    while let e = readdir(d) {
      let dot = withUnsafeBytes(of: e.pointee.d_name) { b in
        b[0] == 0x2E && (b[1] == 0 || (b[1] == 0x2E && b[2] == 0))
      }
      if !dot { return true }
    }
    return false
  }

  /// Makes everything written to the file system holding the open directory `fd`
  /// durable: one syncfs(2) for a whole group of files instead of an fsync each.
  static func syncFileSystem(_ fd: Int32, path: String) throws(SpoolError) {
    if linux_syncfs(fd) != 0 { throw fail("syncfs", path) }
  }

  /// Reads `count` bytes at `offset` (fewer at end of file).
  static func pread(_ fd: Int32, offset: Int, count: Int, path: String) throws(SpoolError)
    -> [UInt8]
  {
    var out = [UInt8](repeating: 0, count: count)
    var got = 0
    while got < count {
      let n = out.withUnsafeMutableBytes {
        Glibc.pread(fd, $0.baseAddress! + got, count - got, off_t(offset + got))
      }
      if n < 0 {
        if errno == EINTR { continue }
        throw fail("read", path)
      }
      if n == 0 { break }
      got += n
    }
    if got < count { out.removeLast(count - got) }
    return out
  }

  static func fileSize(_ fd: Int32, path: String) throws(SpoolError) -> Int {
    var st = stat()
    if fstat(fd, &st) != 0 { throw fail("stat", path) }
    return Int(st.st_size)
  }

  /// Names in a directory (no "." or ".."); empty if it does not exist.
  static func list(_ path: String) -> [String] {
    guard let d = opendir(path) else { return [] }
    defer { closedir(d) }
    var out: [String] = []
    while let e = readdir(d) {
      let name = withUnsafePointer(to: e.pointee.d_name) {
        $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
      }
      if name != "." && name != ".." { out.append(name) }
    }
    return out
  }
}

/// glibc's syncfs(2), which the Glibc module hides behind _GNU_SOURCE.
@_silgen_name("syncfs")
private func linux_syncfs(_ fd: Int32) -> Int32

/// Maildir's file names.
public enum Maildir {
  /// A file's name without its info (`NAME:2,FLAGS` is NAME), as a reader leaves it in
  /// cur/.
  public static func withoutInfo(_ name: String) -> String {
    String(name.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).first ?? "")
  }
}
