import CCurl
import Foundation
import TestSupport
import Testing

@testable import HTTP

@Suite struct FailureKindTests {
  @Test func mapsCurlCodes() {
    func kind(_ code: CURLcode, tooLarge: Bool = false, blocked: Bool = false)
      -> FetchFailure.Kind
    {
      FetchFailure.Kind(code: code, bodyTooLarge: tooLarge, blocked: blocked)
    }
    #expect(kind(CURLE_COULDNT_RESOLVE_HOST) == .dns)
    #expect(kind(CURLE_COULDNT_CONNECT) == .connect)
    #expect(kind(CURLE_RECV_ERROR) == .connect)
    #expect(kind(CURLE_OPERATION_TIMEDOUT) == .timeout)
    #expect(kind(CURLE_PEER_FAILED_VERIFICATION) == .tls)
    #expect(kind(CURLE_SSL_CONNECT_ERROR) == .tls)
    #expect(kind(CURLE_WEIRD_SERVER_REPLY) == .protocolError)
    #expect(kind(CURLE_BAD_CONTENT_ENCODING) == .protocolError)
    #expect(kind(CURLE_PARTIAL_FILE) == .protocolError)
    #expect(kind(CURLE_UNSUPPORTED_PROTOCOL) == .forbiddenScheme)
    #expect(kind(CURLE_FILESIZE_EXCEEDED) == .tooLarge)
    #expect(kind(CURLE_OUT_OF_MEMORY) == .other)
    // Our own aborts are told apart by the transfer's flags.
    #expect(kind(CURLE_WRITE_ERROR, tooLarge: true) == .tooLarge)
    #expect(kind(CURLE_WRITE_ERROR) == .other)
    #expect(kind(CURLE_COULDNT_CONNECT, blocked: true) == .blockedAddress)
    #expect(kind(CURLE_ABORTED_BY_CALLBACK, blocked: true) == .blockedAddress)
    // A refused first address does not make a later timeout a block.
    #expect(kind(CURLE_OPERATION_TIMEDOUT, blocked: true) == .timeout)
  }

  @Test func durationsBecomeWholeMilliseconds() {
    #expect(Duration.seconds(15).milliseconds == 15_000)
    #expect(Duration.microseconds(1).milliseconds == 1)
    #expect(Duration.milliseconds(1500).milliseconds == 1500)
    #expect(Duration.zero.milliseconds == 0)
  }
}

@Suite struct TestSupportTests {
  @Test func temporaryDirectoryIsRemoved() throws {
    let directory = try TemporaryDirectory(prefix: "fs-http")
    let file = directory.appending("a/b.txt")
    try FileManager.default.createDirectory(
      at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
    try Data("x".utf8).write(to: file)
    #expect(FileManager.default.fileExists(atPath: file.path))
    directory.remove()
    #expect(!FileManager.default.fileExists(atPath: directory.path))
    directory.remove()
  }

  @Test func gzipRoundTripsThroughTheSystemTool() throws {
    let input = Array("hello hello hello hello".utf8)
    let compressed = try gzip(input)
    #expect(compressed.starts(with: [0x1F, 0x8B]))
    #expect(try gzip(input) == compressed)
  }

  @Test func conditionalHelperAnswers304OnlyOnAMatch() {
    let handler = ServedResponse.conditional(
      body: [1, 2], etag: "W/\"v2\"", lastModified: "Wed, 01 May 2024 10:00:00 GMT")
    func request(_ headers: ServedHeaders) -> ServedRequest {
      ServedRequest(method: "GET", target: "/", headers: headers, body: [], connection: 1)
    }
    #expect(handler(request([:])).status == 200)
    #expect(handler(request(["If-None-Match": "\"v2\""])).status == 304)
    #expect(handler(request(["If-None-Match": "\"v1\", W/\"v2\""])).status == 304)
    #expect(handler(request(["If-None-Match": "\"v1\""])).status == 200)
    #expect(handler(request(["If-None-Match": "*"])).status == 304)
    #expect(
      handler(request(["If-Modified-Since": "Wed, 01 May 2024 10:00:00 GMT"])).status == 304)
    #expect(
      handler(request(["If-Modified-Since": "Wed, 01 May 2024 10:00:01 GMT"])).status == 200)
    // If-None-Match wins over If-Modified-Since.
    #expect(
      handler(
        request([
          "If-None-Match": "\"v1\"", "If-Modified-Since": "Wed, 01 May 2024 10:00:00 GMT",
        ])
      ).status == 200)
  }
}
