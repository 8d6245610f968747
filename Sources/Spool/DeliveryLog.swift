#if canImport(Glibc)
  import Glibc
#endif

/// One delivery, as recorded in the spool's ordered log.
public struct DeliveryRecord: Sendable, Equatable {
  /// 1, 2, 3, ... in delivery order; a consumer's cursor.
  public var seq: UInt64
  /// Hash of the article's canonical URL.
  public var key: URLKey
  /// The file's name in `new/` (a consumer may have moved it to `cur/`).
  public var name: String

  public init(seq: UInt64, key: URLKey, name: String) {
    self.seq = seq
    self.key = key
    self.name = name
  }

  /// `SEQ KEY NAME\n`: the log's line format. Names are `[a-z0-9.-]` only.
  var line: String { "\(seq) \(key) \(name)\n" }

  init?(line: Substring) {
    let parts = line.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false)
    guard parts.count == 3, let seq = UInt64(parts[0]), let key = URLKey(hex: parts[1]),
      !parts[2].isEmpty, !parts[2].contains("/")
    else { return nil }
    self.init(seq: seq, key: key, name: String(parts[2]))
  }
}

/// The ordered record of deliveries: `SPOOL/.feedspool/deliveries.log`, append-only
/// text, one `DeliveryRecord` a line. It is the spool's single source of truth: a
/// delivery exists once its line is durable (see `Spool`).
public enum DeliveryLog {
  public static func path(spool: String) -> String { spool + "/.feedspool/deliveries.log" }

  /// Parses complete lines of `bytes`; returns the records and how many bytes the
  /// complete lines span (a torn last line is left for later).
  static func parse(_ bytes: ArraySlice<UInt8>) -> (records: [DeliveryRecord], consumed: Int) {
    var out: [DeliveryRecord] = []
    var start = bytes.startIndex
    var i = bytes.startIndex
    while i < bytes.endIndex {
      if bytes[i] == UInt8(ascii: "\n") {
        let line = String(decoding: bytes[start..<i], as: UTF8.self)
        if let r = DeliveryRecord(line: line[...]) { out.append(r) }
        start = i + 1
      }
      i += 1
    }
    return (out, start - bytes.startIndex)
  }

  /// Reads records forward from a byte offset. Used by `tail`: call again with the
  /// returned offset to get what was appended since.
  public static func read(spool: String, from offset: Int) throws(SpoolError) -> (
    records: [DeliveryRecord], nextOffset: Int
  ) {
    let path = path(spool: spool)
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    if fd < 0 {
      if errno == ENOENT { return ([], offset) }
      throw FileIO.fail("open", path)
    }
    defer { close(fd) }
    let size = try FileIO.fileSize(fd, path: path)
    guard size > offset else { return ([], offset) }
    let bytes = try FileIO.pread(fd, offset: offset, count: size - offset, path: path)
    let (records, consumed) = parse(bytes[...])
    return (records, offset + consumed)
  }

  /// Records with `seq > after`, read backwards from the end of the file so that
  /// start-up stays cheap however long the log is. Also returns the last seq.
  static func tail(fd: Int32, path: String, after: UInt64) throws(SpoolError) -> (
    records: [DeliveryRecord], lastSeq: UInt64, completeSize: Int
  ) {
    let size = try FileIO.fileSize(fd, path: path)
    // Size of the complete-lines prefix: drop a torn last line.
    var end = size
    if size > 0 {
      let lastChunkStart = max(0, size - 4096)
      let chunk = try FileIO.pread(
        fd, offset: lastChunkStart, count: size - lastChunkStart, path: path)
      if let nl = chunk.lastIndex(of: UInt8(ascii: "\n")) {
        end = lastChunkStart + nl + 1
      } else if lastChunkStart == 0 {
        end = 0
      } else {
        // A last line longer than 4 KiB cannot be ours: find its start the slow way.
        var pos = lastChunkStart
        end = 0
        while pos > 0 {
          let from = max(0, pos - 65536)
          let c = try FileIO.pread(fd, offset: from, count: pos - from, path: path)
          if let nl = c.lastIndex(of: UInt8(ascii: "\n")) {
            end = from + nl + 1
            break
          }
          pos = from
        }
      }
    }
    // Read a growing window back from the end until it reaches a record at or
    // before `after` (or the start of the file).
    var window = 64 * 1024
    while true {
      let from = max(0, end - window)
      let chunk = try FileIO.pread(fd, offset: from, count: end - from, path: path)
      var startIdx = 0
      if from > 0 {
        guard let nl = chunk.firstIndex(of: UInt8(ascii: "\n")) else {
          window *= 2
          continue
        }
        startIdx = nl + 1
      }
      let (records, _) = parse(chunk[startIdx...])
      if from == 0 || (records.first.map { $0.seq <= after } ?? false) {
        return (records.filter { $0.seq > after }, records.last?.seq ?? 0, end)
      }
      window *= 2
    }
  }
}
