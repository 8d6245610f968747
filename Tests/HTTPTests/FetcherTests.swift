import Foundation
import TestSupport
import Testing

@testable import HTTP

/// Real libcurl against the loopback server. Serialized: the thread-count test reads the
/// process's thread count, which parallel siblings would blur.
@Suite(.serialized) final class FetcherTests: Sendable {
  let server: LoopbackHTTPServer
  init() throws {
    server = try LoopbackHTTPServer()
  }

  deinit {
    server.stop()
  }

  var loopback: NetworkPolicy { NetworkPolicy(allow: ["127.0.0.1:\(server.port)"]) }

  func url(_ path: String) -> String { server.baseURL + path }

  /// A fetcher that must have freed every easy handle and header list when the test ends.
  func withFetcher(
    policy: NetworkPolicy = NetworkPolicy(), maxConnectionsPerHost: Int = 4,
    maxTotalConnections: Int = 64, _ body: (Fetcher) async throws -> Void
  ) async throws {
    let fetcher = Fetcher(
      userAgent: "feedspool-test/1.0", policy: policy,
      maxConnectionsPerHost: maxConnectionsPerHost, maxTotalConnections: maxTotalConnections)
    try await body(fetcher)
    await expectNothingLive(fetcher)
    fetcher.shutdown()
  }

  @Test func fetchesBodyAndHeaders() async throws {
    server.route("/feed") { _ in
      ServedResponse(
        status: 200,
        headers: ServedHeaders([
          ("Content-Type", "application/rss+xml; charset=utf-8"), ("X-Multi", "one"),
          ("x-multi", "two"),
        ]),
        body: Array("<rss>caf\u{E9}</rss>".utf8))
    }
    try await withFetcher { fetcher in
      let result = await fetcher.fetch(
        FetchRequest(url: url("/feed"), trusted: true, accept: "application/rss+xml"))
      guard case .fetched(let response) = result else {
        Issue.record("expected .fetched, got \(result)")
        return
      }
      #expect(response.status == 200)
      #expect(response.body == Array("<rss>caf\u{E9}</rss>".utf8))
      #expect(response.headers["content-type"] == "application/rss+xml; charset=utf-8")
      #expect(response.headers.values(for: "X-MULTI") == ["one", "two"])
      #expect(response.url == url("/feed"))
      #expect(response.redirects.isEmpty)

      let seen = try #require(server.requests(for: "/feed").first)
      #expect(seen.method == "GET")
      #expect(seen.headers["User-Agent"] == "feedspool-test/1.0")
      #expect(seen.headers["Accept"] == "application/rss+xml")
      #expect(seen.headers["Referer"] == nil)
      #expect(seen.headers["Cookie"] == nil)
      #expect(seen.headers["If-None-Match"] == nil)
      let encodings = try #require(seen.headers["Accept-Encoding"])
      for coding in ["gzip", "br", "zstd"] {
        #expect(encodings.contains(coding), "Accept-Encoding \(encodings) lacks \(coding)")
      }
    }
  }

  @Test func keepsOnlyTheFinalResponsesHeaders() async throws {
    server.route("/hinted") { _ in
      var response = ServedResponse.text("body")
      response.interim = [(103, ["Link": "</style.css>; rel=preload"])]
      return response
    }
    try await withFetcher { fetcher in
      let result = await fetcher.fetch(FetchRequest(url: url("/hinted"), trusted: true))
      let response = try #require(result.response)
      #expect(response.status == 200)
      #expect(response.body == Array("body".utf8))
      #expect(response.headers["Link"] == nil)
      #expect(response.headers["Content-Type"] == "text/plain; charset=utf-8")
    }
  }

  @Test func conditionalGetSendsValidatorsBackByteForByte() async throws {
    // Octets E9 and C3 A9: a Latin-1 and a UTF-8 "é", sent raw by some servers.
    let etag = "W/\"caf\u{E9}-\u{C3}\u{A9}-1\""
    let lastModified = "Tue, 15 Nov 1994 08:12:31 GMT"
    let body = Array("<feed/>".utf8)
    server.route(
      "/c", ServedResponse.conditional(body: body, etag: etag, lastModified: lastModified))
    try await withFetcher { fetcher in
      let first = await fetcher.fetch(FetchRequest(url: url("/c"), trusted: true))
      guard case .fetched(let fresh) = first else {
        Issue.record("expected .fetched, got \(first)")
        return
      }
      #expect(fresh.body == body)
      let storedETag = try #require(fresh.headers["etag"])
      let storedDate = try #require(fresh.headers["last-modified"])
      #expect(storedETag == etag)

      let second = await fetcher.fetch(
        FetchRequest(url: url("/c"), etag: storedETag, lastModified: storedDate, trusted: true))
      guard case .notModified(let response) = second else {
        Issue.record("expected .notModified, got \(second)")
        return
      }
      #expect(response.status == 304)
      #expect(response.body.isEmpty)
      #expect(response.headers["ETag"] == etag)

      let revalidation = try #require(server.requests(for: "/c").last)
      #expect(revalidation.headers["If-None-Match"] == etag)
      #expect(revalidation.headers["If-Modified-Since"] == lastModified)

      // Only If-Modified-Since: the date alone validates.
      let third = await fetcher.fetch(
        FetchRequest(url: url("/c"), lastModified: storedDate, trusted: true))
      #expect(third.response?.status == 304)
      // A stale ETag gets the body again.
      let stale = await fetcher.fetch(
        FetchRequest(url: url("/c"), etag: "\"old\"", trusted: true))
      #expect(stale.response?.status == 200)
    }
  }

  @Test func decodesGzipBodies() async throws {
    let text = Array(String(repeating: "<item>gzip me</item>\n", count: 500).utf8)
    let compressed = try gzip(text)
    #expect(compressed.count < text.count / 10)
    server.route("/gz") { _ in
      ServedResponse(status: 200, headers: ["Content-Encoding": "gzip"], body: compressed)
    }
    try await withFetcher { fetcher in
      let result = await fetcher.fetch(FetchRequest(url: url("/gz"), trusted: true))
      #expect(result.response?.status == 200)
      #expect(result.response?.body == text)
    }
  }

  @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/zstd")))
  func decodesZstdBodies() async throws {
    let text = Array(String(repeating: "<entry>zstd</entry>\n", count: 300).utf8)
    let directory = try TemporaryDirectory(prefix: "zstd")
    let input = directory.appending("body")
    try Data(text).write(to: input)
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/zstd")
    process.arguments = ["-q", "-f", input.path, "-o", directory.appending("body.zst").path]
    try process.run()
    process.waitUntilExit()
    let compressed = Array(try Data(contentsOf: directory.appending("body.zst")))
    server.route("/zst") { _ in
      ServedResponse(status: 200, headers: ["Content-Encoding": "zstd"], body: compressed)
    }
    try await withFetcher { fetcher in
      let result = await fetcher.fetch(FetchRequest(url: url("/zst"), trusted: true))
      #expect(result.response?.body == text)
    }
  }

  @Test func brokenResponsesAreProtocolErrors() async throws {
    server.route("/badgzip") { _ in
      ServedResponse(
        status: 200, headers: ["Content-Encoding": "gzip"], body: Array("not gzip at all".utf8))
    }
    server.route("/truncated") { _ in
      var response = ServedResponse(
        status: 200, headers: ["Content-Length": "100"], body: Array("only ten!!".utf8))
      response.close = true
      return response
    }
    try await withFetcher { fetcher in
      for path in ["/badgzip", "/truncated"] {
        let result = await fetcher.fetch(FetchRequest(url: url(path), trusted: true))
        #expect(result.failure?.kind == .protocolError, "\(path): \(result)")
      }
    }
  }

  @Test func followsAndRecordsRedirects() async throws {
    server.route("/old") { _ in
      var response = ServedResponse.redirect(301, to: "mid?x=1")
      response.headers.add("X-Hop", "old")
      return response
    }
    server.route("/mid") { _ in .redirect(302, to: "/new") }
    server.route("/new") { _ in .text("arrived") }
    try await withFetcher(policy: loopback) { fetcher in
      let result = await fetcher.fetch(
        FetchRequest(url: url("/old"), etag: "\"e1\"", trusted: true))
      guard case .fetched(let response) = result else {
        Issue.record("expected .fetched, got \(result)")
        return
      }
      #expect(response.body == Array("arrived".utf8))
      #expect(response.url == url("/new"))
      #expect(
        response.redirects == [
          Redirect(status: 301, from: url("/old"), to: url("/mid?x=1")),
          Redirect(status: 302, from: url("/mid?x=1"), to: url("/new")),
        ])
      #expect(response.redirects.map(\.isPermanent) == [true, false])
      // Headers are the final response's only.
      #expect(response.headers["X-Hop"] == nil)
      #expect(response.headers["Location"] == nil)
      // Every hop carried the validator; keep-alive served all three on one connection.
      let seen = server.requests
      #expect(seen.map(\.target) == ["/old", "/mid?x=1", "/new"])
      #expect(seen.allSatisfy { $0.headers["If-None-Match"] == "\"e1\"" })
      #expect(seen.allSatisfy { $0.headers["Referer"] == nil })
      #expect(Set(seen.map(\.connection)).count == 1)
    }
  }

  @Test func redirectLoopEndsAsTooManyRedirects() async throws {
    server.route("/loop") { _ in .redirect(302, to: "/loop") }
    try await withFetcher(policy: loopback) { fetcher in
      var limits = FetchLimits()
      limits.maxRedirects = 3
      let result = await fetcher.fetch(
        FetchRequest(url: url("/loop"), trusted: true, limits: limits))
      let failure = try #require(result.failure)
      #expect(failure.kind == .tooManyRedirects)
      #expect(failure.redirects.count == 4)
      #expect(server.requests(for: "/loop").count == 4)

      limits.maxRedirects = 0
      let none = await fetcher.fetch(
        FetchRequest(url: url("/loop"), trusted: true, limits: limits))
      #expect(none.failure?.kind == .tooManyRedirects)
    }
  }

  @Test(arguments: [
    "ftp://127.0.0.1/feed.xml", "file:///etc/passwd", "FILE:///etc/hostname",
    "gopher://127.0.0.1/", "dict://127.0.0.1:11211/stat",
  ])
  func refusesRedirectsToOtherSchemes(_ location: String) async throws {
    server.route("/away") { _ in .redirect(302, to: location) }
    try await withFetcher(policy: loopback) { fetcher in
      let result = await fetcher.fetch(FetchRequest(url: url("/away"), trusted: true))
      let failure = try #require(result.failure)
      #expect(failure.kind == .forbiddenScheme)
      #expect(failure.redirects.first?.status == 302)
      // And the same URL asked for directly.
      let direct = await fetcher.fetch(FetchRequest(url: location, trusted: true))
      #expect(direct.failure?.kind == .forbiddenScheme)
    }
  }

  @Test func errorStatusesAreAnswersNotFailures() async throws {
    server.route("/gone") { _ in .text("no such feed", status: 404) }
    server.route("/busy") { _ in
      ServedResponse(status: 503, headers: ["Retry-After": "120"], body: [])
    }
    try await withFetcher { fetcher in
      let missing = await fetcher.fetch(FetchRequest(url: url("/gone"), trusted: true))
      guard case .httpStatus(let response) = missing else {
        Issue.record("expected .httpStatus, got \(missing)")
        return
      }
      #expect(response.status == 404)
      #expect(response.body == Array("no such feed".utf8))
      let busy = await fetcher.fetch(FetchRequest(url: url("/busy"), trusted: true))
      guard case .httpStatus(let unavailable) = busy else {
        Issue.record("expected .httpStatus, got \(busy)")
        return
      }
      #expect(unavailable.headers["retry-after"] == "120")
    }
  }

  /// No range is asked for, so a 206 carries part of a document: not a feed to parse.
  @Test func partialContentIsNotADocument() async throws {
    server.route("/part") { _ in
      ServedResponse(
        status: 206, headers: ["Content-Range": "bytes 0-9/100"], body: Array("<rss versi".utf8))
    }
    try await withFetcher { fetcher in
      let part = await fetcher.fetch(FetchRequest(url: url("/part"), trusted: true))
      guard case .httpStatus(let response) = part else {
        Issue.record("expected .httpStatus, got \(part)")
        return
      }
      #expect(response.status == 206)
    }
  }

  @Test func capsBodies() async throws {
    let cap = 64 * 1024
    let big = [UInt8](repeating: 0x61, count: cap + 1)
    let exact = [UInt8](repeating: 0x62, count: cap)
    let bomb = try gzip([UInt8](repeating: 0, count: 4 * 1024 * 1024))
    #expect(bomb.count < cap, "the compressed bomb must fit under the cap")
    server.route("/declared") { _ in .ok(big) }
    server.route("/chunked") { _ in
      var response = ServedResponse.ok(big)
      response.chunked = true
      return response
    }
    server.route("/exact") { _ in
      var response = ServedResponse.ok(exact)
      response.chunked = true
      return response
    }
    server.route("/bomb") { _ in
      ServedResponse(status: 200, headers: ["Content-Encoding": "gzip"], body: bomb)
    }
    try await withFetcher { fetcher in
      var limits = FetchLimits()
      limits.maxBodyBytes = cap
      for path in ["/declared", "/chunked", "/bomb"] {
        let result = await fetcher.fetch(
          FetchRequest(url: url(path), trusted: true, limits: limits))
        #expect(result.failure?.kind == .tooLarge, "\(path): \(result)")
      }
      let fits = await fetcher.fetch(
        FetchRequest(url: url("/exact"), trusted: true, limits: limits))
      #expect(fits.response?.body == exact)
    }
  }

  /// libcurl bounds a response's header, not the trailer lines after a chunked body: a
  /// server sending them without end took the daemon to 800 MB. Header and trailer bytes
  /// together are capped; a few trailers are fine.
  @Test func endlessTrailersAreCut() async throws {
    let line = Array("X-Pad: \(String(repeating: "a", count: 1000))\r\n".utf8)
    for (path, lines) in [("/few", 3), ("/many", 3000)] {
      server.route(path) { _ in
        var response = ServedResponse.text("feed body")
        response.chunked = true
        response.trailers = Array((0..<lines).map { _ in line }.joined())
        return response
      }
    }
    try await withFetcher { fetcher in
      let few = await fetcher.fetch(FetchRequest(url: url("/few"), trusted: true))
      #expect(few.response.map { String(decoding: $0.body, as: UTF8.self) } == "feed body")
      let many = await fetcher.fetch(FetchRequest(url: url("/many"), trusted: true))
      let failure = try #require(many.failure)
      #expect(failure.kind == .protocolError)
      #expect(failure.message.contains("trailer"))
    }
  }

  /// Bytes that are neither header nor body (a chunk extension without end) are counted
  /// on the connection: past twice the body cap and 2 MiB the fetch stops. Before, only
  /// the fetch's time limit stopped them (gigabytes over a fast link).
  @Test func endlessChunkExtensionsAreCut() async throws {
    for (path, count) in [("/short-ext", 1000), ("/long-ext", 6 << 20)] {
      server.route(path) { _ in
        var response = ServedResponse.text("feed body")
        response.chunked = true
        response.chunkExtension = Array("x=".utf8) + [UInt8](repeating: 0x61, count: count)
        return response
      }
    }
    try await withFetcher { fetcher in
      var limits = FetchLimits()
      limits.maxBodyBytes = 64 * 1024
      let short = await fetcher.fetch(
        FetchRequest(url: url("/short-ext"), trusted: true, limits: limits))
      #expect(short.response.map { String(decoding: $0.body, as: UTF8.self) } == "feed body")
      let long = await fetcher.fetch(
        FetchRequest(url: url("/long-ext"), trusted: true, limits: limits))
      let failure = try #require(long.failure)
      #expect(failure.kind == .tooLarge)
      #expect(failure.message.contains("neither header nor body"))
    }
  }

  @Test func stalledServerTimesOut() async throws {
    server.route("/stall") { _ in
      var response = ServedResponse.text("late")
      response.delayBeforeHead = .seconds(10)
      return response
    }
    try await withFetcher { fetcher in
      var limits = FetchLimits()
      limits.totalTimeout = .seconds(1)
      let started = ContinuousClock.now
      let result = await fetcher.fetch(
        FetchRequest(url: url("/stall"), trusted: true, limits: limits))
      let elapsed = ContinuousClock.now - started
      #expect(result.failure?.kind == .timeout)
      #expect(elapsed >= .milliseconds(900) && elapsed < .seconds(4), "took \(elapsed)")
    }
  }

  @Test func slowBodyTimesOutOnLowSpeed() async throws {
    server.route("/trickle") { _ in
      var response = ServedResponse.ok(Array("x".utf8))
      response.delayBeforeBody = .seconds(10)
      return response
    }
    try await withFetcher { fetcher in
      var limits = FetchLimits()
      limits.lowSpeedLimit = 100
      limits.lowSpeedTime = .seconds(1)
      let result = await fetcher.fetch(
        FetchRequest(url: url("/trickle"), trusted: true, limits: limits))
      #expect(result.failure?.kind == .timeout)
    }
  }

  @Test func untrustedLoopbackIsBlockedUnlessAllowed() async throws {
    server.route("/item") { _ in .text("page") }
    try await withFetcher { fetcher in
      let result = await fetcher.fetch(FetchRequest(url: url("/item")))
      let failure = try #require(result.failure)
      #expect(failure.kind == .blockedAddress)
      #expect(failure.message.contains("127.0.0.1"))
      // Not even a connection reached the server.
      #expect(server.requests.isEmpty)
      // A name that resolves to loopback is judged by the address connected.
      let byName = await fetcher.fetch(
        FetchRequest(url: "http://localhost:\(server.port)/item"))
      #expect(byName.failure?.kind == .blockedAddress)
      #expect(server.requests.isEmpty)
    }
    try await withFetcher(policy: loopback) { fetcher in
      let result = await fetcher.fetch(FetchRequest(url: url("/item")))
      #expect(result.response?.body == Array("page".utf8))
      // The connected ip:port is allowed, whatever name led there.
      let byName = await fetcher.fetch(
        FetchRequest(url: "http://localhost:\(server.port)/item"))
      #expect(byName.response?.status == 200)
    }
    try await withFetcher(policy: NetworkPolicy(allow: ["LOCALHOST:\(server.port)"])) {
      fetcher in
      let byName = await fetcher.fetch(
        FetchRequest(url: "http://localhost:\(server.port)/item"))
      #expect(byName.response?.status == 200)
      // The allowed name does not open the address to other names.
      let byAddress = await fetcher.fetch(FetchRequest(url: url("/item")))
      #expect(byAddress.failure?.kind == .blockedAddress)
    }
  }

  @Test func trustedFirstHopMayBeLoopbackButItsRedirectMayNot() async throws {
    server.route("/feed") { _ in .redirect(302, to: "/elsewhere") }
    server.route("/elsewhere") { _ in .text("internal") }
    try await withFetcher { fetcher in
      let result = await fetcher.fetch(FetchRequest(url: url("/feed"), trusted: true))
      let failure = try #require(result.failure)
      #expect(failure.kind == .blockedAddress)
      #expect(failure.url == url("/elsewhere"))
      #expect(
        failure.redirects == [Redirect(status: 302, from: url("/feed"), to: url("/elsewhere"))])
      // The redirect hop would reuse the first hop's kept-alive connection: it must be
      // stopped before its request is sent, not merely before a new connect.
      #expect(server.requests.map(\.path) == ["/feed"])
    }
    try await withFetcher(policy: loopback) { fetcher in
      let result = await fetcher.fetch(FetchRequest(url: url("/feed"), trusted: true))
      #expect(result.response?.body == Array("internal".utf8))
    }
  }

  @Test func manyConcurrentFetchesShareOneThread() async throws {
    let count = 150
    // Answer nothing until every request has arrived (bounded): all of them are in flight
    // at once, each on its own connection.
    server.route("/n") { [unowned server] request in
      let deadline = ContinuousClock.now + .seconds(5)
      while ContinuousClock.now < deadline {
        if server.openConnections >= count { break }
        usleep(5000)
      }
      return .text(String(request.target.split(separator: "=").last ?? ""))
    }
    let baseline = try threadCount()
    try await withFetcher(
      policy: loopback, maxConnectionsPerHost: count, maxTotalConnections: count
    ) { fetcher in
      let sampler = Task.detached { () -> Int in
        var peak = 0
        for _ in 0..<1000 {
          // Threads first: the server registers a connection before starting its thread,
          // so the count read after covers every server thread seen before.
          let threads = (try? threadCount()) ?? 0
          peak = max(peak, threads - self.server.openConnections)
          if self.server.requestCount >= count { break }
          try? await Task.sleep(for: .milliseconds(5))
        }
        return peak
      }
      let started = ContinuousClock.now
      let bodies = await withTaskGroup(of: (Int, [UInt8]?).self) { group in
        for i in 0..<count {
          group.addTask {
            let result = await fetcher.fetch(
              FetchRequest(url: self.url("/n?i=\(i)"), trusted: true))
            return (i, result.response?.body)
          }
        }
        var bodies: [Int: [UInt8]] = [:]
        for await (i, body) in group { bodies[i] = body }
        return bodies
      }
      let elapsed = ContinuousClock.now - started
      let peak = await sampler.value
      for i in 0..<count {
        #expect(bodies[i] == Array(String(i).utf8), "fetch \(i)")
      }
      #expect(Set(server.requests(for: "/n").map(\.connection)).count == count)
      #expect(elapsed < .seconds(5), "took \(elapsed)")
      // Threads beyond the server's per-connection ones: the multi thread and the test's
      // own tasks, not one per transfer.
      #expect(peak - baseline < 30, "peak \(peak) vs baseline \(baseline)")
    }
  }

  @Test func shutdownCancelsTransfersInFlight() async throws {
    server.route("/hang") { _ in
      var response = ServedResponse.text("never")
      response.delayBeforeHead = .seconds(10)
      return response
    }
    let fetcher = Fetcher(userAgent: "feedspool-test/1.0", policy: loopback)
    // Four transfers on connections (the per-host limit), a fifth queued inside libcurl.
    let tasks = (0..<5).map { i in
      Task { await fetcher.fetch(FetchRequest(url: url("/hang?\(i)"), trusted: true)) }
    }
    try await waitUntil { self.server.requests(for: "/hang").count >= 4 }
    #expect(server.requests(for: "/hang").count == 4)
    let started = ContinuousClock.now
    fetcher.shutdown()
    for task in tasks {
      let result = await task.value
      #expect(result.failure?.kind == .cancelled)
    }
    #expect(ContinuousClock.now - started < .seconds(2))
    let later = await fetcher.fetch(FetchRequest(url: url("/hang"), trusted: true))
    #expect(later.failure?.kind == .cancelled)
    await expectNothingLive(fetcher)
  }

  @Test func taskCancellationCancelsItsTransfer() async throws {
    server.route("/hang") { _ in
      var response = ServedResponse.text("never")
      response.delayBeforeHead = .seconds(10)
      return response
    }
    server.route("/ok") { _ in .text("fine") }
    try await withFetcher { fetcher in
      let task = Task { await fetcher.fetch(FetchRequest(url: url("/hang"), trusted: true)) }
      try await waitUntil { !self.server.requests(for: "/hang").isEmpty }
      task.cancel()
      #expect(await task.value.failure?.kind == .cancelled)
      // The fetcher itself goes on.
      let next = await fetcher.fetch(FetchRequest(url: url("/ok"), trusted: true))
      #expect(next.response?.status == 200)
    }
  }

  @Test func keepsConnectionsAliveAndCookiesOut() async throws {
    server.route("/a") { _ in
      ServedResponse(status: 200, headers: ["Set-Cookie": "session=1; Path=/"], body: [1])
    }
    try await withFetcher { fetcher in
      for _ in 0..<3 {
        let result = await fetcher.fetch(FetchRequest(url: url("/a"), trusted: true))
        #expect(result.response?.status == 200)
      }
      let seen = server.requests(for: "/a")
      #expect(seen.count == 3)
      #expect(Set(seen.map(\.connection)).count == 1, "the pooled connection was not reused")
      #expect(seen.allSatisfy { $0.headers["Cookie"] == nil })
    }
  }

  @Test func transportFailuresAreTyped() async throws {
    // A port nobody listens on: bind one, note it, close it.
    let closed = try LoopbackHTTPServer()
    let port = closed.port
    closed.stop()
    try await withFetcher { fetcher in
      let refused = await fetcher.fetch(
        FetchRequest(url: "http://127.0.0.1:\(port)/", trusted: true))
      #expect(refused.failure?.kind == .connect)
      let unresolvable = await fetcher.fetch(
        FetchRequest(url: "http://feedspool-test.invalid/", trusted: true))
      #expect(unresolvable.failure?.kind == .dns)
      let malformed = await fetcher.fetch(FetchRequest(url: "http://[zz/", trusted: true))
      #expect(malformed.failure?.kind == .invalidURL)
      let noScheme = await fetcher.fetch(FetchRequest(url: "example.com/feed", trusted: true))
      #expect(noScheme.failure?.kind == .invalidURL)
    }
  }

  @Test func releasesEveryHandle() async throws {
    server.route("/small") { _ in .text("x") }
    server.route("/r") { _ in .redirect(301, to: "/small") }
    try await withFetcher(policy: loopback) { fetcher in
      for round in 0..<50 {
        let request = FetchRequest(
          url: url(round.isMultiple(of: 2) ? "/small" : "/r"), etag: "\"\(round)\"",
          lastModified: "Mon, 01 Jan 2024 00:00:00 GMT", trusted: true, accept: "*/*")
        _ = await fetcher.fetch(request)
      }
      _ = await fetcher.fetch(FetchRequest(url: "http://127.0.0.2:\(server.port)/"))
    }
  }
}

/// A soak, not run by default (FEEDSPOOL_SOAK=N runs N rounds of 50 concurrent fetches of a
/// 64 KiB body): prints the resident memory before and after, to see that nothing grows
/// per transfer. `FEEDSPOOL_SOAK=200 swift test --filter soak`
@Test(.enabled(if: ProcessInfo.processInfo.environment["FEEDSPOOL_SOAK"] != nil))
func soak() async throws {
  let rounds = Int(ProcessInfo.processInfo.environment["FEEDSPOOL_SOAK"] ?? "") ?? 100
  let server = try LoopbackHTTPServer()
  defer { server.stop() }
  let body = [UInt8](repeating: 0x78, count: 64 * 1024)
  server.route("/s") { _ in .ok(body) }
  let fetcher = Fetcher(
    userAgent: "soak", policy: NetworkPolicy(allow: ["127.0.0.1:\(server.port)"]),
    maxConnectionsPerHost: 8)
  func round() async {
    await withTaskGroup(of: Void.self) { group in
      for i in 0..<50 {
        group.addTask {
          let r = await fetcher.fetch(
            FetchRequest(url: "\(server.baseURL)/s", etag: "\"\(i)\"", accept: "*/*"))
          precondition(r.response?.body.count == body.count)
        }
      }
    }
    server.clearLog()  // the log grows by design; the fetcher must not
  }
  for _ in 0..<10 { await round() }
  let before = try residentKiB()
  let started = ContinuousClock.now
  for _ in 0..<rounds { await round() }
  let elapsed = ContinuousClock.now - started
  let after = try residentKiB()
  print(
    "soak: \(rounds * 50) fetches in \(elapsed), RSS \(before) KiB -> \(after) KiB, live \(fetcher.liveResources)"
  )
  await expectNothingLive(fetcher)
  fetcher.shutdown()
}

func residentKiB() throws -> Int {
  let status = try String(contentsOfFile: "/proc/self/status", encoding: .utf8)
  for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
    if let n = Int(line.dropFirst(6).trimmingCharacters(in: .whitespaces).split(separator: " ")[0])
    {
      return n
    }
  }
  throw CocoaError(.fileReadCorruptFile)
}

/// Polls `condition` every 10 ms for at most 3 s.
func waitUntil(_ condition: () -> Bool) async throws {
  for _ in 0..<300 {
    if condition() { return }
    try await Task.sleep(for: .milliseconds(10))
  }
}

/// Every easy handle, header list and transfer of `fetcher` has been freed. The multi
/// thread drops its last reference just after resuming the fetch, so allow it a moment.
func expectNothingLive(_ fetcher: Fetcher, sourceLocation: SourceLocation = #_sourceLocation)
  async
{
  for _ in 0..<30 where fetcher.liveResources != .init() {
    try? await Task.sleep(for: .milliseconds(10))
  }
  #expect(fetcher.liveResources == .init(), "leaked", sourceLocation: sourceLocation)
}

/// Threads of this process, from /proc/self/status.
func threadCount() throws -> Int {
  let status = try String(contentsOfFile: "/proc/self/status", encoding: .utf8)
  for line in status.split(separator: "\n") where line.hasPrefix("Threads:") {
    if let n = Int(line.dropFirst("Threads:".count).trimmingCharacters(in: .whitespaces)) {
      return n
    }
  }
  throw CocoaError(.fileReadCorruptFile)
}
