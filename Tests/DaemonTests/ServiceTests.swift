import Foundation
import HTTP
import TestSupport
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// A datagram socket standing in for systemd's notify socket.
final class NotifyListener: @unchecked Sendable {
  let path: String
  let fd: Int32

  init(directory: String) throws {
    path = directory + "/notify.sock"
    fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
    var addr = sockaddr_un()
    addr.sun_family = sa_family_t(AF_UNIX)
    withUnsafeMutableBytes(of: &addr.sun_path) { raw in
      for (i, b) in path.utf8.enumerated() { raw[i] = b }
    }
    let ok = withUnsafePointer(to: &addr) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
      }
    }
    guard ok == 0 else { throw POSIXError(.EADDRINUSE) }
    var tv = timeval(tv_sec: 0, tv_usec: 100_000)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
  }

  deinit { close(fd) }

  /// Messages received until `predicate` holds for one of them, or `timeout`.
  func wait(timeout: TimeInterval, until predicate: (String) -> Bool) -> [String] {
    var got: [String] = []
    let end = Date().addingTimeInterval(timeout)
    var buf = [UInt8](repeating: 0, count: 4096)
    while Date() < end {
      let n = buf.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
      if n > 0 {
        let m = String(decoding: buf[0..<n], as: UTF8.self)
        got.append(m)
        if predicate(m) { return got }
      }
    }
    return got
  }
}

@Suite(.serialized) struct ServiceTests {
  func startDaemon(config: String, env extra: [String: String]) throws -> Process {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: EndToEndTests.binary)
    p.arguments = ["run", "--config", config]
    var env = ProcessInfo.processInfo.environment
    for (k, v) in extra { env[k] = v }
    p.environment = env
    p.standardOutput = FileHandle.nullDevice
    p.standardError = FileHandle.nullDevice
    try p.run()
    return p
  }

  @Test func notifiesReadyWatchdogReloadAndStopsCleanlyOnSIGTERM() throws {
    let server = try EndToEndTests.server()
    defer { server.stop() }
    let dir = try TemporaryDirectory()
    defer { dir.remove() }
    let cfg = try EndToEndTests.writeConfig(dir, base: server.baseURL, port: server.port)
    let listener = try NotifyListener(directory: dir.path)
    let daemon = try startDaemon(
      config: cfg, env: ["NOTIFY_SOCKET": listener.path, "WATCHDOG_USEC": "400000"])
    defer { if daemon.isRunning { kill(daemon.processIdentifier, SIGKILL) } }

    let ready = listener.wait(timeout: 10) { $0.contains("READY=1") }
    #expect(ready.contains { $0.contains("READY=1") && $0.contains("STATUS=") })
    // Its first round delivers the five articles.
    let deadline = Date().addingTimeInterval(10)
    while Date() < deadline,
      ((try? FileManager.default.contentsOfDirectory(atPath: dir.path + "/spool/new")) ?? []).count
        < 5
    {
      usleep(50_000)
    }
    #expect(
      ((try? FileManager.default.contentsOfDirectory(atPath: dir.path + "/spool/new")) ?? []).count
        == 5)
    // The watchdog is pinged by the scheduler loop.
    let pings = listener.wait(timeout: 3) { $0 == "WATCHDOG=1" }
    #expect(pings.contains("WATCHDOG=1"))

    // SIGHUP: RELOADING=1 with a monotonic timestamp, then READY=1 again.
    kill(daemon.processIdentifier, SIGHUP)
    let reload = listener.wait(timeout: 5) { $0.hasPrefix("READY=1") }
    #expect(reload.contains { $0.hasPrefix("RELOADING=1\nMONOTONIC_USEC=") })
    #expect(reload.contains { $0.hasPrefix("READY=1") })

    // SIGTERM: STOPPING=1, exit 0 within a few seconds, nothing left in tmp/.
    let start = Date()
    kill(daemon.processIdentifier, SIGTERM)
    let stopping = listener.wait(timeout: 5) { $0.contains("STOPPING=1") }
    #expect(stopping.contains { $0.contains("STOPPING=1") })
    while daemon.isRunning && Date().timeIntervalSince(start) < 10 { usleep(20_000) }
    #expect(!daemon.isRunning)
    #expect(daemon.terminationStatus == 0)
    #expect(Date().timeIntervalSince(start) < 5)
    #expect(
      ((try? FileManager.default.contentsOfDirectory(atPath: dir.path + "/spool/tmp")) ?? [])
        .isEmpty)
  }

  @Test func aChangedConfigFileIsPickedUpAndABrokenOneRefused() throws {
    let server = try EndToEndTests.server()
    defer { server.stop() }
    let dir = try TemporaryDirectory()
    defer { dir.remove() }
    // Start with the RSS feed only.
    let cfg = dir.path + "/feedspool.yaml"
    let head = """
      spool: \(dir.path)/spool
      state: \(dir.path)/state
      logLevel: warning
      network:
        allow: ["127.0.0.1:\(server.port)"]
      feeds:
        - url: \(server.baseURL)/rss.xml

      """
    try head.write(toFile: cfg, atomically: true, encoding: .utf8)
    let listener = try NotifyListener(directory: dir.path)
    let daemon = try startDaemon(config: cfg, env: ["NOTIFY_SOCKET": listener.path])
    defer { if daemon.isRunning { kill(daemon.processIdentifier, SIGKILL) } }
    _ = listener.wait(timeout: 10) { $0.contains("READY=1") }
    func count() -> Int {
      ((try? FileManager.default.contentsOfDirectory(atPath: dir.path + "/spool/new")) ?? []).count
    }
    var end = Date().addingTimeInterval(10)
    while Date() < end && count() < 2 { usleep(50_000) }
    #expect(count() == 2)

    // A broken edit is refused: the daemon keeps running the old config.
    try (head + "  - url: [broken\n").write(toFile: cfg, atomically: true, encoding: .utf8)
    _ = listener.wait(timeout: 3) { $0.hasPrefix("READY=1") }
    #expect(daemon.isRunning)

    // An editor that writes a new file and renames it over the old one: the new
    // feed is fetched without a restart.
    try (head + "  - url: \(server.baseURL)/feed.json\n").write(
      toFile: cfg, atomically: true, encoding: .utf8)
    end = Date().addingTimeInterval(10)
    while Date() < end && count() < 3 { usleep(50_000) }
    #expect(count() == 3)
    #expect(server.requests(for: "/rss.xml").count == 1)  // the kept feed was not refetched
    kill(daemon.processIdentifier, SIGTERM)
    daemon.waitUntilExit()
    #expect(daemon.terminationStatus == 0)
  }

  @Test func sigtermCancelsTransfersInFlight() throws {
    let server = try LoopbackHTTPServer()
    defer { server.stop() }
    server.route("/stall.xml") { _ in
      var r = ServedResponse.text("<rss/>")
      r.delayBeforeHead = .seconds(20)
      return r
    }
    let dir = try TemporaryDirectory()
    defer { dir.remove() }
    let cfg = dir.path + "/feedspool.yaml"
    try """
    spool: \(dir.path)/spool
    state: \(dir.path)/state
    logLevel: warning
    feeds:
      - url: \(server.baseURL)/stall.xml
    """.write(toFile: cfg, atomically: true, encoding: .utf8)
    let daemon = try startDaemon(config: cfg, env: [:])
    defer { if daemon.isRunning { kill(daemon.processIdentifier, SIGKILL) } }
    let end = Date().addingTimeInterval(10)
    while Date() < end && server.requests(for: "/stall.xml").isEmpty { usleep(20_000) }
    #expect(!server.requests(for: "/stall.xml").isEmpty)
    let start = Date()
    kill(daemon.processIdentifier, SIGTERM)
    while daemon.isRunning && Date().timeIntervalSince(start) < 10 { usleep(20_000) }
    #expect(!daemon.isRunning)
    #expect(Date().timeIntervalSince(start) < 5)
    #expect(daemon.terminationStatus == 0)
  }

  func freePort() -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
    _ = withUnsafePointer(to: &addr) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
      }
    }
    var len = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &addr) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
    }
    return Int(UInt16(bigEndian: addr.sin_port))
  }

  @Test func metricsAreScrapedOnLoopbackAndWrittenAsATextfile() async throws {
    let server = try EndToEndTests.server()
    defer { server.stop() }
    let dir = try TemporaryDirectory()
    defer { dir.remove() }
    let port = freePort()
    let cfg = try EndToEndTests.writeConfig(dir, base: server.baseURL, port: server.port)
    let text = try String(contentsOfFile: cfg, encoding: .utf8)
    try
      (text
      + "\nmetrics:\n  listen: \"127.0.0.1:\(port)\"\n  textfile: \(dir.path)/feedspool.prom\n")
      .write(toFile: cfg, atomically: true, encoding: .utf8)
    let daemon = try startDaemon(config: cfg, env: [:])
    defer { if daemon.isRunning { kill(daemon.processIdentifier, SIGKILL) } }
    let end = Date().addingTimeInterval(10)
    while Date() < end,
      ((try? FileManager.default.contentsOfDirectory(atPath: dir.path + "/spool/new")) ?? []).count
        < 5
    {
      try await Task.sleep(for: .milliseconds(50))
    }
    let fetcher = Fetcher(userAgent: "test", policy: NetworkPolicy())
    // Files appear in new/ a moment before their counters move: scrape until the
    // five deliveries are counted (bounded).
    var body = ""
    var delivered: [Int] = []
    let scrapeEnd = Date().addingTimeInterval(10)
    repeat {
      let result = await fetcher.fetch(
        FetchRequest(url: "http://127.0.0.1:\(port)/metrics", trusted: true))
      if case .fetched(let r) = result { body = String(decoding: r.body, as: UTF8.self) }
      delivered = body.split(separator: "\n")
        .filter { $0.hasPrefix("feedspool_articles_delivered_total{") }
        .compactMap { $0.split(separator: " ").last.flatMap { Int($0) } }
      if delivered.reduce(0, +) == 5 { break }
      try await Task.sleep(for: .milliseconds(100))
    } while Date() < scrapeEnd
    #expect(body.contains("feedspool_fetches_total{"))
    #expect(body.contains("outcome=\"200\""))
    #expect(delivered.reduce(0, +) == 5)
    #expect(body.contains("feedspool_dedup_hits_total{"))
    #expect(body.contains("feedspool_fetch_duration_seconds"))
    kill(daemon.processIdentifier, SIGTERM)
    daemon.waitUntilExit()
    let file = try String(contentsOfFile: dir.path + "/feedspool.prom", encoding: .utf8)
    #expect(file.contains("feedspool_fetches_total"))
  }
}
