import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// A spool on a tiny tmpfs: delivery fails cleanly when the disk is full or
/// read-only, nothing is marked seen, and everything arrives once space returns.
@Suite(.serialized) struct DiskFullTests {
  static func mount(_ options: String, _ path: String) -> Bool {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/bin/mount")
    p.arguments = ["-t", "tmpfs", "-o", options, "tmpfs", path]
    p.standardError = FileHandle.nullDevice
    guard (try? p.run()) != nil else { return false }
    p.waitUntilExit()
    return p.terminationStatus == 0
  }

  static func remount(_ options: String, _ path: String) -> Bool {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/bin/mount")
    p.arguments = ["-o", "remount," + options, path]
    guard (try? p.run()) != nil else { return false }
    p.waitUntilExit()
    return p.terminationStatus == 0
  }

  static func unmount(_ path: String) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/bin/umount")
    p.arguments = [path]
    try? p.run()
    p.waitUntilExit()
  }

  /// Whether this machine lets the tests mount a tmpfs (root with CAP_SYS_ADMIN).
  static let canMount: Bool = {
    let dir = NSTemporaryDirectory() + "feedspool-mount-probe-\(getpid())"
    try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    guard mount("size=64k", dir) else { return false }
    unmount(dir)
    return true
  }()

  /// 40 items with 4 KiB bodies each: more than a 64 KiB spool holds.
  static func bigFeed(_ base: String) -> [UInt8] {
    var items = ""
    let para = String(repeating: "Lorem ipsum dolor sit amet, consectetur. ", count: 100)
    for i in 0..<40 {
      items += "<item><title>Item \(i)</title><link>\(base)/item/\(i)</link>"
      items += "<description>&lt;p&gt;\(para)&lt;/p&gt;</description></item>\n"
    }
    return Array(
      "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>Big</title>\(items)</channel></rss>"
        .utf8)
  }

  @Test(.enabled(if: canMount, "needs root to mount a tmpfs"))
  func fullThenReadOnlyThenRoomAgain() throws {
    let server = try LoopbackHTTPServer()
    defer { server.stop() }
    server.route(
      "/big.xml",
      ServedResponse.conditional(
        body: Self.bigFeed(server.baseURL), etag: "\"b\"", lastModified: nil))
    let dir = try TemporaryDirectory()
    defer { dir.remove() }
    let spool = dir.path + "/spool"
    try FileManager.default.createDirectory(atPath: spool, withIntermediateDirectories: true)
    #expect(Self.mount("size=64k", spool))
    defer { Self.unmount(spool) }
    let cfg = dir.path + "/feedspool.yaml"
    try """
    spool: \(spool)
    state: \(dir.path)/state
    logLevel: critical
    feeds:
      - \(server.baseURL)/big.xml
    """.write(toFile: cfg, atomically: true, encoding: .utf8)
    func delivered() -> [String] {
      (try? FileManager.default.contentsOfDirectory(atPath: spool + "/new")) ?? []
    }
    func tmp() -> [String] {
      (try? FileManager.default.contentsOfDirectory(atPath: spool + "/tmp")) ?? []
    }

    // Full: the round fails cleanly, exit 0, nothing visible, nothing half-written.
    let full = try EndToEndTests.run(["run", "--once", "--config", cfg])
    #expect(full.status == 0)
    #expect(full.out.contains("stored=0"))
    #expect(delivered().isEmpty)
    #expect(tmp().isEmpty)

    // Read-only: the same.
    #expect(Self.remount("ro,size=4m", spool))
    let ro = try EndToEndTests.run(["run", "--once", "--force", "--config", cfg])
    #expect(ro.status == 0)
    #expect(delivered().isEmpty)

    // Room again: the next round delivers every item once; the feed was not
    // marked as fetched (its validators were not kept), so it is not a 304.
    #expect(Self.remount("rw,size=4m", spool))
    let ok = try EndToEndTests.run(["run", "--once", "--force", "--config", cfg])
    #expect(ok.out.contains("stored=40"))
    #expect(delivered().count == 40)
    let again = try EndToEndTests.run(["run", "--once", "--force", "--config", cfg])
    #expect(again.out.contains("stored=0"))
    #expect(delivered().count == 40)
    #expect(
      server.requests(for: "/big.xml").filter { $0.headers["If-None-Match"] != nil }.count >= 1)
  }

  /// The state directory on a full disk (the spool fine): the seen table cannot have its
  /// file, so it lives in memory; deliveries go on, none twice, and the file is made
  /// once there is room. The table was a sparse file written through a mapping: on a
  /// full disk the daemon died of SIGBUS, at every start.
  @Test(.enabled(if: canMount, "needs root to mount a tmpfs"))
  func aFullStateDiskKeepsTheSeenTableInMemory() throws {
    let server = try LoopbackHTTPServer()
    defer { server.stop() }
    var items = ""
    for i in 0..<1_000 {
      items += "<item><title>Item \(i)</title><link>\(server.baseURL)/item/\(i)</link></item>\n"
    }
    let feed =
      "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>Many</title>"
      + items + "</channel></rss>"
    server.route("/many.xml") { _ in .text(feed, contentType: "application/rss+xml") }
    let dir = try TemporaryDirectory()
    defer { dir.remove() }
    let state = dir.path + "/state"
    try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: true)
    #expect(Self.mount("size=16k", state))
    defer { Self.unmount(state) }
    let cfg = dir.path + "/feedspool.yaml"
    try """
    spool: \(dir.path)/spool
    state: \(state)
    logLevel: critical
    feeds:
      - \(server.baseURL)/many.xml
    """.write(toFile: cfg, atomically: true, encoding: .utf8)
    func delivered() -> Int {
      ((try? FileManager.default.contentsOfDirectory(atPath: dir.path + "/spool/new")) ?? []).count
    }
    let first = try EndToEndTests.run(["run", "--once", "--force", "--config", cfg])
    #expect(first.status == 0, "\(first.err)")
    #expect(first.out.contains("stored=1000"))
    // Still full: the next start knows every key from the log.
    let second = try EndToEndTests.run(["run", "--once", "--force", "--config", cfg])
    #expect(second.status == 0, "\(second.err)")
    #expect(second.out.contains("stored=0"))
    // Room again: the table gets its file, still nothing twice.
    #expect(Self.remount("rw,size=4m", state))
    let third = try EndToEndTests.run(["run", "--once", "--force", "--config", cfg])
    #expect(third.out.contains("stored=0"))
    #expect(delivered() == 1_000)
    let size =
      (try? FileManager.default.attributesOfItem(atPath: state + "/seen.tbl")[.size]) as? Int
    #expect((size ?? 0) > 16 * 1024)
  }
}
