#if canImport(Glibc)
  import Glibc
#endif

/// `feedspool bench-seen` (Benchmarks/dedup.sh): the seen table with N URLs already
/// delivered, as a spool that has run for years would have it: how long opening the
/// spool takes, how many lookups a second it answers, and its bytes per URL on disk.
public enum SeenBenchmark {
  public struct Result: Sendable {
    public var urls: Int
    public var fillSeconds: Double?
    public var openSeconds: Double
    public var lookups: Int
    public var lookupsPerSecond: Double
    public var hits: Int
    public var tableBytes: Int
  }

  static func key(_ i: Int) -> UInt128 { URLKey(canonicalURL: "https://bench.example/\(i)").value }

  static func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
  }

  /// Fills `state` (and a spool at `spool` whose log ends at record `urls`) unless they
  /// already hold `urls` keys, then opens the spool and looks up `lookups` keys, half of
  /// them delivered.
  public static func run(spool: String, state: String, urls: Int, lookups: Int) throws(SpoolError)
    -> Result
  {
    precondition(urls > 0)
    try FileIO.mkdirs(state)
    for sub in ["tmp", "new", "cur", ".feedspool"] { try FileIO.mkdirs(spool + "/" + sub) }
    let path = state + "/seen.tbl"
    var fillSeconds: Double?
    let tableBytes: Int
    do {
      // Closed at the end of this block, before the spool opens it again.
      let existing = try SeenTable.open(path: path)
      if existing.covered != UInt64(urls) {
        let start = now()
        try existing.reset()
        for i in 1...urls { existing.insert(key(i), seq: UInt64(i)) }
        try existing.checkpoint()
        fillSeconds = now() - start
        // The log's last record is the one the table vouches for (the records before it
        // would be ~110 bytes each: a real spool's log is that much bigger).
        let line = DeliveryRecord(seq: UInt64(urls), key: URLKey(key(urls)), name: "last.md").line
        let logPath = DeliveryLog.path(spool: spool)
        let fd = open(logPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        if fd < 0 { throw FileIO.fail("open", logPath) }
        defer { close(fd) }
        try FileIO.writeAll(fd, line, path: logPath)
        try FileIO.fsyncFD(fd, path: logPath)
      }
      tableBytes = existing.fileSize
    }

    // Keys to look up, made before the clock starts: odd ones delivered, even ones not.
    var probes: [URLKey] = []
    probes.reserveCapacity(lookups)
    var x: UInt64 = 0x9E37_79B9_7F4A_7C15
    for n in 0..<lookups {
      x = x &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
      let i = Int(x >> 33) % urls + 1
      probes.append(URLKey(n % 2 == 0 ? key(i) : key(urls + i)))
    }
    let openStart = now()
    let s = try Spool(directory: spool, stateDirectory: state)
    let openSeconds = now() - openStart
    let lookupStart = now()
    var hits = 0
    for p in probes where s.contains(p) { hits += 1 }
    let lookupSeconds = now() - lookupStart
    return Result(
      urls: urls, fillSeconds: fillSeconds, openSeconds: openSeconds, lookups: lookups,
      lookupsPerSecond: Double(lookups) / max(lookupSeconds, 1e-9), hits: hits,
      tableBytes: tableBytes)
  }
}
