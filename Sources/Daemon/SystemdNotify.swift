import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// The systemd notification protocol (sd_notify(3)), spoken directly: one datagram
/// per message to the AF_UNIX socket named by `$NOTIFY_SOCKET` (a path, or an
/// abstract name starting with `@`). Without that variable every call does nothing.
public struct SystemdNotify: Sendable {
  public let socketPath: String?
  /// Half the watchdog period systemd expects pings in (`$WATCHDOG_USEC`), if any.
  public let watchdogInterval: TimeInterval?

  public init(environment: [String: String] = ProcessInfo.processInfo.environment) {
    let path = environment["NOTIFY_SOCKET"].flatMap { $0.isEmpty ? nil : $0 }
    socketPath = path
    var wd: TimeInterval?
    if let usec = environment["WATCHDOG_USEC"].flatMap({ UInt64($0) }), usec > 0 {
      let pidOK = environment["WATCHDOG_PID"].map { Int32($0) == getpid() } ?? true
      if pidOK { wd = TimeInterval(usec) / 1_000_000 / 2 }
    }
    watchdogInterval = wd
  }

  public var isEnabled: Bool { socketPath != nil }

  /// Sends `state` (newline-separated assignments). Returns false on failure.
  @discardableResult
  public func send(_ state: String) -> Bool {
    guard let socketPath else { return false }
    let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    guard fd >= 0 else { return false }
    defer { close(fd) }
    var addr = sockaddr_un()
    addr.sun_family = sa_family_t(AF_UNIX)
    var bytes = Array(socketPath.utf8)
    if bytes.first == UInt8(ascii: "@") { bytes[0] = 0 }  // abstract namespace
    let capacity = MemoryLayout.size(ofValue: addr.sun_path)
    guard bytes.count < capacity else { return false }
    withUnsafeMutableBytes(of: &addr.sun_path) { raw in
      for (i, b) in bytes.enumerated() { raw[i] = b }
    }
    let len = socklen_t(MemoryLayout<sa_family_t>.size + bytes.count + (bytes.first == 0 ? 0 : 1))
    let message = Array(state.utf8)
    let sent = withUnsafePointer(to: &addr) { p in
      p.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
        message.withUnsafeBytes { m in
          sendto(fd, m.baseAddress, m.count, Int32(MSG_NOSIGNAL), sa, len)
        }
      }
    }
    return sent == message.count
  }

  public func ready(status: String) { send("READY=1\nSTATUS=\(status)") }
  public func status(_ s: String) { send("STATUS=\(s)") }
  public func watchdog() { send("WATCHDOG=1") }
  public func stopping() { send("STOPPING=1") }

  /// RELOADING=1 with the CLOCK_MONOTONIC time systemd's Type=notify-reload expects.
  public func reloading() {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    let usec = UInt64(ts.tv_sec) * 1_000_000 + UInt64(ts.tv_nsec) / 1000
    send("RELOADING=1\nMONOTONIC_USEC=\(usec)")
  }
}
