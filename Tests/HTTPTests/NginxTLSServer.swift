import Foundation
import TestSupport

#if canImport(Glibc)
  import Glibc
#endif

/// Debian's nginx serving a directory over TLS with HTTP/2 on 127.0.0.1, with a throwaway
/// self-signed certificate: the loopback server speaks HTTP/1.1 only, and libcurl offers
/// HTTP/2 over TLS only (ALPN). Access log lines: "CONNECTION PROTOCOL URI".
final class NginxTLSServer {
  static var available: Bool {
    FileManager.default.isExecutableFile(atPath: "/usr/sbin/nginx")
      && FileManager.default.isExecutableFile(atPath: "/usr/bin/openssl")
  }

  let directory: TemporaryDirectory
  let port: Int
  var certificatePath: String { directory.appending("cert.pem").path }
  var baseURL: String { "https://127.0.0.1:\(port)" }
  private let process: Process

  enum Failure: Error {
    case tool(String, Int32)
    case notListening(String)
  }

  /// Serves `files` (name -> bytes) from the root.
  init(files: [String: [UInt8]]) throws {
    directory = try TemporaryDirectory(prefix: "nginx-h2")
    let dir = directory.path
    try Self.run(
      "/usr/bin/openssl",
      [
        "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", "\(dir)/key.pem", "-out", "\(dir)/cert.pem", "-days", "2", "-subj",
        "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
      ])
    try FileManager.default.createDirectory(
      atPath: "\(dir)/www", withIntermediateDirectories: true)
    for (name, bytes) in files {
      try Data(bytes).write(to: directory.appending("www/\(name)"))
    }
    port = try Self.freePort()
    let user = String(cString: getpwuid(getuid()).pointee.pw_name)
    let group = String(cString: getgrgid(getgid()).pointee.gr_name)
    let temp = ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"].map {
      "\($0)_temp_path \(dir)/\($0);"
    }.joined(separator: " ")
    let config = """
      user \(user) \(group);
      daemon off;
      worker_processes 1;
      pid \(dir)/nginx.pid;
      error_log \(dir)/error.log warn;
      events { worker_connections 256; }
      http {
        log_format t '$connection $server_protocol $request_uri';
        access_log \(dir)/access.log t;
        \(temp)
        server {
          listen 127.0.0.1:\(port) ssl http2;
          ssl_certificate \(dir)/cert.pem;
          ssl_certificate_key \(dir)/key.pem;
          root \(dir)/www;
        }
      }
      """
    try config.write(toFile: "\(dir)/nginx.conf", atomically: true, encoding: .utf8)
    process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/sbin/nginx")
    process.arguments = ["-c", "\(dir)/nginx.conf", "-p", dir, "-e", "\(dir)/error.log"]
    try process.run()
    for _ in 0..<300 {
      if Self.accepts(port) { return }
      if !process.isRunning { break }
      usleep(10_000)
    }
    stop()
    let log = (try? String(contentsOfFile: "\(dir)/error.log", encoding: .utf8)) ?? ""
    throw Failure.notListening(log)
  }

  deinit { stop() }

  /// The access log, one entry per request: (connection serial, protocol, URI).
  var accessLog: [(connection: String, protocol: String, uri: String)] {
    let text = (try? String(contentsOfFile: "\(directory.path)/access.log", encoding: .utf8)) ?? ""
    return text.split(separator: "\n").compactMap { line in
      let parts = line.split(separator: " ")
      guard parts.count == 3 else { return nil }
      return (String(parts[0]), String(parts[1]), String(parts[2]))
    }
  }

  /// Stops the nginx this object started (its own PID), bounded.
  func stop() {
    guard process.isRunning else { return }
    kill(process.processIdentifier, SIGTERM)
    for _ in 0..<200 where process.isRunning { usleep(10_000) }
    if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    process.waitUntilExit()
  }

  private static func run(_ tool: String, _ arguments: [String]) throws {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: tool)
    process.arguments = arguments
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    try process.run()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
      throw Failure.tool(tool, process.terminationStatus)
    }
  }

  /// A port that was free a moment ago (bind to 0, read it, close).
  private static func freePort() throws -> Int {
    let server = try LoopbackHTTPServer()
    defer { server.stop() }
    return server.port
  }

  private static func accepts(_ port: Int) -> Bool {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { return false }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = UInt16(port).bigEndian
    address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
    return withUnsafePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
      }
    }
  }
}
