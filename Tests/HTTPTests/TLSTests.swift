import Foundation
import Testing

@testable import HTTP

/// HTTPS against a local nginx (skipped where nginx or openssl is missing).
@Suite(.serialized, .enabled(if: NginxTLSServer.available)) struct TLSTests {
  @Test func multiplexesConcurrentFetchesOverOneHTTP2Connection() async throws {
    let body = Array(String(repeating: "<item/>", count: 1000).utf8)
    let nginx = try NginxTLSServer(files: ["feed.xml": body])
    defer { nginx.stop() }
    let fetcher = Fetcher(
      userAgent: "feedspool-test/1.0", policy: NetworkPolicy(),
      caBundlePath: nginx.certificatePath)
    defer { fetcher.shutdown() }
    let count = 20
    let base = nginx.baseURL
    let results = await withTaskGroup(of: FetchResult.self) { group in
      for i in 0..<count {
        group.addTask {
          await fetcher.fetch(FetchRequest(url: "\(base)/feed.xml?\(i)", trusted: true))
        }
      }
      return await group.reduce(into: []) { $0.append($1) }
    }
    #expect(results.count == count)
    for result in results {
      #expect(result.response?.status == 200, "\(result)")
      #expect(result.response?.body == body)
    }
    let log = nginx.accessLog
    #expect(log.count == count)
    #expect(log.allSatisfy { $0.protocol == "HTTP/2.0" }, "\(log.map(\.protocol))")
    #expect(Set(log.map(\.connection)).count == 1, "connections: \(Set(log.map(\.connection)))")
    await expectNothingLive(fetcher)
  }

  @Test func untrustedCertificateIsATLSFailure() async throws {
    let nginx = try NginxTLSServer(files: ["feed.xml": [1]])
    defer { nginx.stop() }
    let fetcher = Fetcher(userAgent: "feedspool-test/1.0", policy: NetworkPolicy())
    defer { fetcher.shutdown() }
    let result = await fetcher.fetch(
      FetchRequest(url: "\(nginx.baseURL)/feed.xml", trusted: true))
    #expect(result.failure?.kind == .tls, "\(result)")
    #expect(nginx.accessLog.isEmpty)
  }
}
