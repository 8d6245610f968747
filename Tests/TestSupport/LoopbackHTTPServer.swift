import Foundation
import Synchronization

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// A real HTTP/1.1 server on 127.0.0.1 (an ephemeral port), for tests.
///
/// Plain POSIX sockets, one thread per connection, keep-alive, Content-Length request bodies.
/// Every request is logged (`requests`) before its handler runs. Handlers are matched by
/// exact path (`route`), else the fallback given at init. `stop()` (or deinit) closes the
/// listener and every connection and returns within about two seconds.
///
/// ```swift
/// let server = try LoopbackHTTPServer()
/// server.route("/feed") { _ in .text("<rss/>", contentType: "application/rss+xml") }
/// // fetch "\(server.baseURL)/feed" ...
/// #expect(server.requests.allSatisfy { $0.headers["If-None-Match"] != nil })
/// ```
public final class LoopbackHTTPServer: @unchecked Sendable {
  public typealias Handler = @Sendable (ServedRequest) -> ServedResponse

  private struct State {
    var routes: [String: Handler] = [:]
    var log: [ServedRequest] = []
    var connections: [Int: Int32] = [:]  // serial -> fd, while open
    var nextConnection = 0
    var threads = 0
    var stopped = false
    var listener: Int32
  }

  /// The port bound on 127.0.0.1.
  public let port: Int
  /// "http://127.0.0.1:PORT" (no trailing slash).
  public var baseURL: String { "http://127.0.0.1:\(port)" }

  private let fallback: Handler
  private let state: Mutex<State>

  /// Starts listening at once. `handler` answers paths without a route (default: 404).
  public init(handler: @escaping Handler = { _ in .status(404) }) throws {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    guard fd >= 0 else { throw ServerError.socket(errno) }
    var one: Int32 = 1
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = 0
    address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
    let bound = withUnsafePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
      }
    }
    guard bound == 0, listen(fd, 256) == 0 else {
      let error = errno
      close(fd)
      throw ServerError.bind(error)
    }
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    port = Int(UInt16(bigEndian: address.sin_port))
    fallback = handler
    state = Mutex(State(listener: fd))
    state.withLock { $0.threads += 1 }
    Thread.detachNewThread { [self] in acceptLoop(fd) }
  }

  deinit {
    stop()
  }

  public enum ServerError: Error {
    case socket(Int32)
    case bind(Int32)
  }

  /// Answers requests for exactly `path` (no query) with `handler`; replaces an earlier one.
  public func route(_ path: String, _ handler: @escaping Handler) {
    state.withLock { $0.routes[path] = handler }
  }

  /// Every request received so far, in order of arrival.
  public var requests: [ServedRequest] { state.withLock { $0.log } }

  /// The requests received so far for `path` (query ignored).
  public func requests(for path: String) -> [ServedRequest] {
    requests.filter { $0.path == path }
  }

  /// How many requests were received so far (cheaper than `requests.count`).
  public var requestCount: Int { state.withLock { $0.log.count } }

  /// Connections open right now (each has a thread).
  public var openConnections: Int { state.withLock { $0.connections.count } }

  /// Forgets the request log.
  public func clearLog() { state.withLock { $0.log.removeAll() } }

  /// Stops listening, closes every connection, cuts delays short; waits (at most ~2 s) for
  /// the server's threads to end. Idempotent.
  public func stop() {
    let wasRunning = state.withLock { s -> Bool in
      guard !s.stopped else { return false }
      s.stopped = true
      if s.listener >= 0 { shutdown(s.listener, Int32(SHUT_RDWR)) }
      for fd in s.connections.values { shutdown(fd, Int32(SHUT_RDWR)) }
      return true
    }
    guard wasRunning else { return }
    for _ in 0..<400 {
      if state.withLock({ $0.threads }) == 0 { return }
      usleep(5000)
    }
  }

  private var isStopped: Bool { state.withLock { $0.stopped } }

  private func acceptLoop(_ listener: Int32) {
    defer {
      state.withLock {
        close(listener)
        $0.listener = -1
        $0.threads -= 1
      }
    }
    while !isStopped {
      let fd = accept(listener, nil, nil)
      if fd < 0 {
        if errno == EINTR || errno == ECONNABORTED { continue }
        return
      }
      _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
      let serial = state.withLock { s -> Int? in
        guard !s.stopped else { return nil }
        s.nextConnection += 1
        s.connections[s.nextConnection] = fd
        s.threads += 1
        return s.nextConnection
      }
      guard let serial else {
        close(fd)
        return
      }
      Thread.detachNewThread { [self] in serve(fd, serial: serial) }
    }
  }

  private func serve(_ fd: Int32, serial: Int) {
    defer {
      state.withLock {
        $0.connections[serial] = nil
        $0.threads -= 1
      }
      close(fd)
    }
    var one: Int32 = 1
    setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
    var buffer: [UInt8] = []
    while !isStopped {
      guard let request = readRequest(fd, buffer: &buffer, serial: serial) else { return }
      let handler = state.withLock { s -> Handler in
        s.log.append(request)
        return s.routes[request.path] ?? fallback
      }
      let response = handler(request)
      let keepAlive =
        !response.close && request.headers["Connection"]?.lowercased() != "close"
      guard write(response, for: request, keepAlive: keepAlive, to: fd), keepAlive else {
        return
      }
    }
  }

  /// Reads one request (head and Content-Length body); nil at end of stream or on garbage.
  private func readRequest(_ fd: Int32, buffer: inout [UInt8], serial: Int) -> ServedRequest? {
    let separator: [UInt8] = [13, 10, 13, 10]
    var headEnd: Int?
    while true {
      if let end = Self.find(separator, in: buffer) {
        headEnd = end
        break
      }
      guard buffer.count < 256 * 1024, receive(fd, into: &buffer) else { return nil }
    }
    guard let headEnd else { return nil }
    let head = Array(buffer[0..<headEnd])
    buffer.removeFirst(headEnd + 4)
    var lines = head.split(separator: 10, omittingEmptySubsequences: false).map { line in
      line.last == 13 ? Array(line.dropLast()) : Array(line)
    }
    guard !lines.isEmpty else { return nil }
    let requestLine = String(decoding: lines.removeFirst(), as: UTF8.self)
    let parts = requestLine.split(separator: " ")
    guard parts.count == 3 else { return nil }
    var headers = ServedHeaders()
    for line in lines {
      guard let colon = line.firstIndex(of: 58) else { continue }
      let name = Self.latin1(line[..<colon])
      let value = Self.latin1(line[(colon + 1)...].drop { $0 == 32 || $0 == 9 })
      headers.add(name, String(value.reversed().drop { $0 == " " || $0 == "\t" }.reversed()))
    }
    let length = headers["Content-Length"].flatMap { Int($0) } ?? 0
    while buffer.count < length {
      guard receive(fd, into: &buffer) else { return nil }
    }
    let body = Array(buffer.prefix(length))
    buffer.removeFirst(length)
    return ServedRequest(
      method: String(parts[0]), target: String(parts[1]), headers: headers, body: body,
      connection: serial)
  }

  private func receive(_ fd: Int32, into buffer: inout [UInt8]) -> Bool {
    var chunk = [UInt8](repeating: 0, count: 16384)
    let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
    guard n > 0 else { return false }
    buffer.append(contentsOf: chunk[0..<n])
    return true
  }

  private func write(
    _ response: ServedResponse, for request: ServedRequest, keepAlive: Bool, to fd: Int32
  ) -> Bool {
    if response.delayBeforeHead > .zero && !pause(response.delayBeforeHead) { return false }
    let bodyAllowed =
      request.method != "HEAD" && response.status >= 200 && response.status != 204
      && response.status != 304
    var head: [UInt8] = []
    for (status, headers) in response.interim {
      head += Array("HTTP/1.1 \(status) \(Self.reason(status))\r\n".utf8)
      for (name, value) in headers {
        head += Self.octets(name) + Array(": ".utf8) + Self.octets(value) + [13, 10]
      }
      head += [13, 10]
    }
    head += Array("HTTP/1.1 \(response.status) \(Self.reason(response.status))\r\n".utf8)
    for (name, value) in response.headers {
      head += Self.octets(name) + Array(": ".utf8) + Self.octets(value) + [13, 10]
    }
    if response.chunked && bodyAllowed {
      head += Array("Transfer-Encoding: chunked\r\n".utf8)
    } else if !response.headers.contains("Content-Length") && response.status >= 200
      && response.status != 204 && response.status != 304
    {
      head += Array("Content-Length: \(bodyAllowed ? response.body.count : 0)\r\n".utf8)
    }
    if !keepAlive { head += Array("Connection: close\r\n".utf8) }
    head += [13, 10]
    guard sendAll(fd, head) else { return false }
    guard bodyAllowed else { return true }
    if response.delayBeforeBody > .zero && !pause(response.delayBeforeBody) { return false }
    if response.chunked {
      var offset = 0
      while offset < response.body.count {
        let end = min(offset + 16384, response.body.count)
        var size = Array(String(end - offset, radix: 16).utf8)
        if offset == 0 && !response.chunkExtension.isEmpty {
          size += [0x3B] + response.chunkExtension
        }
        size += [13, 10]
        guard sendAll(fd, size + response.body[offset..<end] + [13, 10]) else { return false }
        offset = end
      }
      return sendAll(fd, Array("0\r\n".utf8) + response.trailers + [13, 10])
    }
    return sendAll(fd, response.body)
  }

  /// Sleeps in short steps; false when the server stopped meanwhile.
  private func pause(_ duration: Duration) -> Bool {
    let deadline = ContinuousClock.now + duration
    while ContinuousClock.now < deadline {
      if isStopped { return false }
      usleep(10_000)
    }
    return !isStopped
  }

  private func sendAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
    var offset = 0
    while offset < bytes.count {
      let n = bytes[offset...].withUnsafeBytes {
        send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL))
      }
      if n < 0 && errno == EINTR { continue }
      guard n > 0 else { return false }
      offset += n
    }
    return true
  }

  private static func find(_ needle: [UInt8], in haystack: [UInt8]) -> Int? {
    guard haystack.count >= needle.count else { return nil }
    for i in 0...(haystack.count - needle.count)
    where haystack[i..<(i + needle.count)].elementsEqual(needle) {
      return i
    }
    return nil
  }

  private static func latin1(_ bytes: some Sequence<UInt8>) -> String {
    var scalars = String.UnicodeScalarView()
    for byte in bytes { scalars.append(Unicode.Scalar(byte)) }
    return String(scalars)
  }

  /// The octets of a header string: ISO-8859-1 when every scalar fits, else UTF-8.
  private static func octets(_ text: String) -> [UInt8] {
    if text.unicodeScalars.allSatisfy({ $0.value <= 0xFF }) {
      return text.unicodeScalars.map { UInt8($0.value) }
    }
    return Array(text.utf8)
  }

  private static func reason(_ status: Int) -> String {
    switch status {
    case 103: "Early Hints"
    case 200: "OK"
    case 301: "Moved Permanently"
    case 302: "Found"
    case 303: "See Other"
    case 304: "Not Modified"
    case 307: "Temporary Redirect"
    case 308: "Permanent Redirect"
    case 400: "Bad Request"
    case 403: "Forbidden"
    case 404: "Not Found"
    case 410: "Gone"
    case 429: "Too Many Requests"
    case 500: "Internal Server Error"
    case 503: "Service Unavailable"
    default: "Status"
    }
  }
}
