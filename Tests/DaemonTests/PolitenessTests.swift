import Foundation
import TestSupport
import Testing

/// The scheduler's politeness through the binary, over several forced rounds
/// against loopback servers that log every request.
@Suite(.serialized) struct PolitenessTests {
  static func rss(_ base: String, _ name: String) -> [UInt8] {
    Array(
      """
      <?xml version="1.0"?><rss version="2.0"><channel><title>\(name)</title>
      <link>\(base)/</link><description>d</description>
      <item><title>\(name) one</title><link>\(base)/\(name)/1</link></item>
      <item><title>\(name) two</title><link>\(base)/\(name)/2</link></item>
      </channel></rss>
      """.utf8)
  }

  @Test func forcedRoundsStayPolite() throws {
    let main = try LoopbackHTTPServer()
    defer { main.stop() }
    let limited = try LoopbackHTTPServer()  // another origin, which rate-limits
    defer { limited.stop() }
    let base = main.baseURL
    main.route(
      "/etag.xml",
      ServedResponse.conditional(body: Self.rss(base, "etag"), etag: "\"v1\"", lastModified: nil))
    main.route(
      "/lm.xml",
      ServedResponse.conditional(
        body: Self.rss(base, "lm"), etag: nil, lastModified: "Wed, 01 May 2024 08:00:00 GMT"))
    main.route("/moved", { _ in .redirect(301, to: "/moved-target.xml") })
    main.route(
      "/moved-target.xml",
      ServedResponse.conditional(body: Self.rss(base, "mv"), etag: "\"m\"", lastModified: nil))
    main.route("/found", { _ in .redirect(302, to: "/temp-target.xml") })
    main.route(
      "/temp-target.xml",
      ServedResponse.conditional(body: Self.rss(base, "tmp"), etag: "\"t\"", lastModified: nil))
    main.route("/gone", { _ in .status(410) })
    main.route("/missing", { _ in .status(404) })
    limited.route("/busy.xml") { _ in ServedResponse(status: 429, headers: ["Retry-After": "120"]) }
    limited.route("/other.xml") { _ in
      .ok(Self.rss(limited.baseURL, "other"), contentType: "application/rss+xml")
    }

    let dir = try TemporaryDirectory()
    defer { dir.remove() }
    let cfg = dir.path + "/feedspool.yaml"
    try """
    spool: \(dir.path)/spool
    state: \(dir.path)/state
    logLevel: error
    feeds:
      - \(base)/etag.xml
      - \(base)/lm.xml
      - \(base)/moved
      - \(base)/found
      - \(base)/gone
      - \(base)/missing
      - \(limited.baseURL)/busy.xml
      - \(limited.baseURL)/other.xml
    network:
      allow: ["127.0.0.1:\(main.port)", "127.0.0.1:\(limited.port)"]
    """.write(toFile: cfg, atomically: true, encoding: .utf8)

    // The first round: the 429 is answered before /other.xml is asked, or not:
    // both feeds of the limited origin count one request at most from here on.
    for _ in 0..<5 {
      let r = try EndToEndTests.run(["run", "--once", "--force", "--config", cfg])
      #expect(r.status == 0, "\(r.err)")
    }

    // Conditional with the exact token on every request after the first.
    let etag = main.requests(for: "/etag.xml")
    #expect(etag.count == 5)
    #expect(etag.first?.headers["If-None-Match"] == nil)
    #expect(etag.dropFirst().allSatisfy { $0.headers["If-None-Match"] == "\"v1\"" })
    let lm = main.requests(for: "/lm.xml")
    #expect(
      lm.dropFirst().allSatisfy {
        $0.headers["If-Modified-Since"] == "Wed, 01 May 2024 08:00:00 GMT"
      })
    // Gone: asked once, then retired.
    #expect(main.requests(for: "/gone").count == 1)
    // 404: not retired, but backed off: --force does not cut a failing feed's
    // backoff short, so the quick forced rounds ask it once.
    #expect(main.requests(for: "/missing").count == 1)
    // 429 with Retry-After: 120 s: nothing more on that origin in the 5 rounds,
    // including the other feed of the same origin once the 429 was seen.
    #expect(limited.requests(for: "/busy.xml").count == 1)
    let busyAt = limited.requests.firstIndex { $0.path == "/busy.xml" }!
    #expect(limited.requests.count <= busyAt + 2)
    // 301: three rounds through the redirect, then straight to the target.
    #expect(main.requests(for: "/moved").count == 3)
    #expect(main.requests(for: "/moved-target.xml").count == 5)
    // 302: never moves.
    #expect(main.requests(for: "/found").count == 5)

    let status = try EndToEndTests.run(["status", "--config", cfg])
    #expect(status.out.contains("moved to   \(base)/moved-target.xml"))
    #expect(status.out.contains("\(base)/gone  [retired (gone)]"))

    // A plain round right after makes no request at all.
    main.clearLog()
    limited.clearLog()
    let idle = try EndToEndTests.run(["run", "--once", "--config", cfg])
    #expect(idle.status == 0)
    #expect(main.requests.isEmpty)
    #expect(limited.requests.isEmpty)
    // Nothing was delivered twice: 2 items for each feed that answered 200.
    let files =
      (try? FileManager.default.contentsOfDirectory(atPath: dir.path + "/spool/new")) ?? []
    #expect(files.count == 2 * 5 || files.count == 2 * 4)
  }
}
