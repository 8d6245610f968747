import Dispatch
import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// Serves `Telemetry.exposition()` over plain HTTP on a loopback address
/// (`GET /metrics`), and/or writes it to a node_exporter textfile every 15 s.
public final class MetricsExporter: @unchecked Sendable {
  // @unchecked: sockets and sources are used only on `queue`.
  private let queue = DispatchQueue(label: "feedspool.metrics")
  private var listenFD: Int32 = -1
  private var acceptSource: (any DispatchSourceRead)?
  private var fileTimer: (any DispatchSourceTimer)?
  public private(set) var port: Int = 0
  private var textfile: String?

  public init() {}

  /// Listens on `host:port` (host must be a loopback address; port 0 picks one).
  public func listen(_ spec: String) throws {
    guard let colon = spec.lastIndex(of: ":"), let p = UInt16(spec[spec.index(after: colon)...])
    else { throw MetricsError.badAddress(spec) }
    var host = String(spec[..<colon])
    if host == "localhost" { host = "127.0.0.1" }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_port = p.bigEndian
    guard inet_pton(AF_INET, host, &addr.sin_addr) == 1,
      UInt32(bigEndian: addr.sin_addr.s_addr) >> 24 == 127
    else { throw MetricsError.notLoopback(spec) }
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    guard fd >= 0 else { throw MetricsError.system("socket", errno) }
    var one: Int32 = 1
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
    let bound = withUnsafePointer(to: &addr) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
      }
    }
    guard bound == 0, Glibc.listen(fd, 16) == 0 else {
      let e = errno
      close(fd)
      throw MetricsError.system("bind \(spec)", e)
    }
    var actual = sockaddr_in()
    var len = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &actual) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
    }
    port = Int(UInt16(bigEndian: actual.sin_port))
    listenFD = fd
    let src = DispatchSource.makeReadSource(fileDescriptor: fd, queue: queue)
    src.setEventHandler { [unowned self] in self.acceptOne() }
    src.setCancelHandler { close(fd) }
    src.resume()
    acceptSource = src
  }

  private func acceptOne() {
    let c = accept(listenFD, nil, nil)
    guard c >= 0 else { return }
    var tv = timeval(tv_sec: 2, tv_usec: 0)
    setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    // Read the request head (bounded), answer, close.
    var head: [UInt8] = []
    var buf = [UInt8](repeating: 0, count: 2048)
    while head.count < 16384 {
      let n = buf.withUnsafeMutableBytes { recv(c, $0.baseAddress, $0.count, 0) }
      if n <= 0 { break }
      head += buf[0..<n]
      if head.count >= 4, head.suffix(4) == [13, 10, 13, 10] { break }
    }
    let line = String(decoding: head.prefix { $0 != 13 && $0 != 10 }, as: UTF8.self)
    let parts = line.split(separator: " ")
    var body: [UInt8]
    var status = "200 OK"
    var type = "text/plain; version=0.0.4; charset=utf-8"
    if parts.count >= 2, parts[0] == "GET", parts[1] == "/metrics" || parts[1] == "/" {
      body = Telemetry.exposition()
    } else {
      status = "404 Not Found"
      type = "text/plain; charset=utf-8"
      body = Array("not found: try /metrics\n".utf8)
    }
    let header = Array(
      "HTTP/1.1 \(status)\r\nContent-Type: \(type)\r\nContent-Length: \(body.count)\r\nConnection: close\r\n\r\n"
        .utf8)
    body = header + body
    var off = 0
    while off < body.count {
      let n = body.withUnsafeBytes {
        send(c, $0.baseAddress! + off, $0.count - off, Int32(MSG_NOSIGNAL))
      }
      if n <= 0 { break }
      off += n
    }
    close(c)
  }

  /// Rewrites `path` atomically with the exposition every `interval` seconds.
  public func writeTextfile(_ path: String, every interval: Int = 15) {
    textfile = path
    let t = DispatchSource.makeTimerSource(queue: queue)
    t.setEventHandler { try? AtomicFile.write(Data(Telemetry.exposition()), to: path) }
    t.schedule(deadline: .now(), repeating: .seconds(interval))
    t.resume()
    fileTimer = t
  }

  /// Stops serving; the textfile gets the final figures.
  public func stop() {
    queue.sync {
      acceptSource?.cancel()
      fileTimer?.cancel()
      if let textfile { try? AtomicFile.write(Data(Telemetry.exposition()), to: textfile) }
    }
  }

  public enum MetricsError: Error, CustomStringConvertible {
    case badAddress(String)
    case notLoopback(String)
    case system(String, Int32)
    public var description: String {
      switch self {
      case .badAddress(let s): return "metrics.listen: expected host:port, got \(s)"
      case .notLoopback(let s): return "metrics.listen: \(s) is not a loopback address"
      case .system(let what, let e): return "metrics: \(what): \(String(cString: strerror(e)))"
      }
    }
  }
}
