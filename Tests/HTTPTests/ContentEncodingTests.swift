import CDecompress
import Foundation
import TestSupport
import Testing

@testable import HTTP

/// Bodies libcurl's own decoder refused (the feed was lost): several gzip members, bytes
/// after the last member, raw deflate; and what must still fail or stop at the cap.
@Suite(.serialized) final class ContentEncodingTests: Sendable {
  let server: LoopbackHTTPServer
  init() throws {
    server = try LoopbackHTTPServer()
  }

  deinit {
    server.stop()
  }

  func url(_ path: String) -> String { server.baseURL + path }

  func serve(_ path: String, coding: String, _ body: [UInt8], chunked: Bool = false) {
    server.route(path) { _ in
      var response = ServedResponse(status: 200, headers: ["Content-Encoding": coding], body: body)
      response.chunked = chunked
      return response
    }
  }

  func fetch(_ path: String, maxBodyBytes: Int? = nil) async -> FetchResult {
    let fetcher = Fetcher(userAgent: "feedspool-test/1.0", policy: NetworkPolicy())
    defer { fetcher.shutdown() }
    var limits = FetchLimits()
    if let maxBodyBytes { limits.maxBodyBytes = maxBodyBytes }
    return await fetcher.fetch(FetchRequest(url: url(path), trusted: true, limits: limits))
  }

  static let head = Array("<rss><channel><title>Two members</title>\n".utf8)
  static let tail = Array(
    (String(repeating: "<item><title>second half</title></item>\n", count: 200)
      + "</channel></rss>\n").utf8)

  @Test func multiMemberGzipIsTheConcatenation() async throws {
    let body = try gzip(Self.head) + gzip(Self.tail)
    serve("/two", coding: "gzip", body)
    serve("/two-chunked", coding: "x-gzip", body, chunked: true)
    let three = try gzip(Self.head) + gzip([]) + gzip(Self.tail)
    serve("/three", coding: "gzip", three)
    for path in ["/two", "/two-chunked", "/three"] {
      let result = await fetch(path)
      #expect(result.response?.body == Self.head + Self.tail, "\(path): \(result)")
    }
  }

  @Test func bytesAfterTheLastMemberAreIgnored() async throws {
    let member = try gzip(Self.head + Self.tail)
    let trailers: [String: [UInt8]] = [
      "/garbage": Array("GARBAGE AFTER THE END\n".utf8),
      "/zeros": [UInt8](repeating: 0, count: 512),
      "/one": [0x1F],
      "/half-header": [0x1F, 0x8B, 0x08, 0x00],
    ]
    for (path, trailer) in trailers { serve(path, coding: "gzip", member + trailer) }
    for path in trailers.keys {
      let result = await fetch(path)
      #expect(result.response?.body == Self.head + Self.tail, "\(path): \(result)")
    }
  }

  @Test func deflateZlibWrappedOrRaw() async throws {
    let text = Self.head + Self.tail
    let member = try gzip(text)
    // gzip -n: a 10-byte header, the raw deflate data, CRC-32 and size (8 bytes).
    let raw = Array(member[10..<(member.count - 8)])
    var a: UInt32 = 1
    var b: UInt32 = 0
    for byte in text {
      a = (a + UInt32(byte)) % 65521
      b = (b + a) % 65521
    }
    let adler = b << 16 | a
    let wrapped =
      [0x78, 0x9C] + raw
      + [
        UInt8(adler >> 24), UInt8(adler >> 16 & 0xFF), UInt8(adler >> 8 & 0xFF),
        UInt8(adler & 0xFF),
      ]
    serve("/raw", coding: "deflate", raw)
    serve("/wrapped", coding: "deflate", wrapped)
    serve("/stacked", coding: "deflate, gzip", try gzip(wrapped))
    for path in ["/raw", "/wrapped", "/stacked"] {
      let result = await fetch(path)
      #expect(result.response?.body == text, "\(path): \(result)")
    }
  }

  @Test func brokenOrUnknownEncodingsStayProtocolErrors() async throws {
    serve("/plain", coding: "gzip", Array("<rss>plain text, not gzip</rss>".utf8))
    var corrupt = try gzip(Self.head + Self.tail)
    for i in 20..<40 { corrupt[i] ^= 0x5A }
    serve("/corrupt", coding: "gzip", corrupt)
    serve("/unknown", coding: "compress", try gzip(Self.head))
    serve("/bad-br", coding: "br", Array("not brotli at all, surely".utf8))
    for path in ["/plain", "/corrupt", "/unknown", "/bad-br"] {
      let result = await fetch(path)
      #expect(result.failure?.kind == .protocolError, "\(path): \(result)")
    }
  }

  @Test func stackedCodingsAreUndoneInTurnButNotThousands() async throws {
    let body = Self.head + Self.tail
    serve("/twice", coding: "gzip, gzip", try gzip(try gzip(body)))
    let twice = await fetch("/twice")
    #expect(twice.response?.body == body, "\(twice)")
    for layers in 3...5 {
      var wrapped = body
      for _ in 0..<layers { wrapped = try gzip(wrapped) }
      serve(
        "/layers\(layers)", coding: Array(repeating: "gzip", count: layers).joined(separator: ", "),
        wrapped)
      let r = await fetch("/layers\(layers)")
      #expect(r.response?.body == body, "\(layers) layers: \(r)")
    }
    // A body gzipped 40 times over is refused whole (libcurl 7.88 refuses more than 5 too):
    // every coding costs a zlib stream, a 64 KiB buffer and a level of recursion.
    var nested = body
    for _ in 0..<40 { nested = try gzip(nested) }
    serve("/many", coding: Array(repeating: "gzip", count: 40).joined(separator: ", "), nested)
    let many = await fetch("/many")
    #expect(many.failure?.kind == .protocolError, "\(many)")
    // The decoder's own limit (libcurl 7.88 refuses more than 5 codings before it).
    for count in [5, 6, 20_000] {
      let header = Array(repeating: "gzip", count: count).joined(separator: ", ")
      let made = try? ContentDecoder.make(contentEncoding: header + ", identity")
      #expect((made != nil) == (count <= ContentDecoder.maxStages), "\(count) codings")
    }
  }

  /// `bytes` as one zstd frame whose header asks for a window of 2^`windowLog` bytes.
  static func zstd(_ bytes: [UInt8], windowLog: Int32) -> [UInt8] {
    let cctx = ZSTD_createCCtx()
    defer { ZSTD_freeCCtx(cctx) }
    _ = ZSTD_CCtx_setParameter(cctx, ZSTD_c_windowLog, windowLog)
    _ = ZSTD_CCtx_setParameter(cctx, ZSTD_c_contentSizeFlag, 0)  // the window decides
    // Streamed (size unknown when the header is written), so the window is not shrunk to
    // fit the input.
    var out = [UInt8](repeating: 0, count: ZSTD_compressBound(bytes.count) + 64)
    let n = out.withUnsafeMutableBytes { o in
      bytes.withUnsafeBytes { i in
        var output = ZSTD_outBuffer(dst: o.baseAddress, size: o.count, pos: 0)
        var input = ZSTD_inBuffer(src: i.baseAddress, size: i.count, pos: 0)
        _ = ZSTD_compressStream2(cctx, &output, &input, ZSTD_e_continue)
        var empty = ZSTD_inBuffer(src: nil, size: 0, pos: 0)
        while ZSTD_compressStream2(cctx, &output, &empty, ZSTD_e_end) > 0 {}
        return output.pos
      }
    }
    return Array(out[..<n])
  }

  @Test func zstdWindowsOverEightMegabytesAreRefused() async throws {
    let body = Self.head + Self.tail
    serve("/zstd", coding: "zstd", Self.zstd(body, windowLog: 23))
    let ok = await fetch("/zstd")
    #expect(ok.response?.body == body, "\(ok)")
    // A 128 MB window: zstd's default limit would allocate it for a few bytes of body.
    serve("/zstd-wide", coding: "zstd", Self.zstd(body, windowLog: 27))
    let wide = await fetch("/zstd-wide")
    #expect(wide.failure?.kind == .protocolError, "\(wide)")
  }

  @Test func theCapCountsEveryMember() async throws {
    let cap = 64 * 1024
    let zeros = try gzip([UInt8](repeating: 0, count: cap / 2 + 1))
    // Each member alone fits under the cap, together they do not.
    serve("/bomb", coding: "gzip", zeros + zeros)
    let result = await fetch("/bomb", maxBodyBytes: cap)
    #expect(result.failure?.kind == .tooLarge, "\(result)")
    // Garbage after a member counts too (as sent): no endless ignored tail.
    serve("/long-tail", coding: "gzip", zeros + [UInt8](repeating: 0x41, count: cap))
    let tail = await fetch("/long-tail", maxBodyBytes: cap)
    #expect(tail.failure?.kind == .tooLarge, "\(tail)")
  }
}
