import Dispatch
import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// Calls `onChange` when the config file is written or replaced. Watches the
/// file's directory with inotify, so that editors that save by writing a new file
/// and renaming it over the old one are seen too. Changes are debounced.
public final class ConfigWatcher: @unchecked Sendable {
  // @unchecked: fd and sources are touched only on `queue` after init.
  private let fd: Int32
  private let source: any DispatchSourceRead
  private let queue = DispatchQueue(label: "feedspool.config-watch")
  private var pending: DispatchWorkItem?

  public init?(file: String, onChange: @escaping @Sendable () -> Void) {
    let url = URL(fileURLWithPath: file).standardizedFileURL.resolvingSymlinksInPath()
    let dir = url.deletingLastPathComponent().path
    let name = url.lastPathComponent
    let fd = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
    guard fd >= 0 else { return nil }
    let mask = UInt32(IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_DELETE | IN_ATTRIB)
    guard inotify_add_watch(fd, dir, mask) >= 0 else {
      close(fd)
      return nil
    }
    self.fd = fd
    source = DispatchSource.makeReadSource(fileDescriptor: fd, queue: queue)
    source.setEventHandler { [unowned self] in
      var buf = [UInt8](repeating: 0, count: 8192)
      var relevant = false
      while true {
        let n = buf.withUnsafeMutableBytes { read(self.fd, $0.baseAddress, $0.count) }
        if n <= 0 { break }
        var off = 0
        while off + MemoryLayout<inotify_event>.size <= n {
          let (len, eventName) = buf.withUnsafeBytes { raw -> (Int, String) in
            let ev = raw.loadUnaligned(fromByteOffset: off, as: inotify_event.self)
            let len = Int(ev.len)
            let start = off + MemoryLayout<inotify_event>.size
            let bytes = raw[start..<min(start + len, n)].prefix { $0 != 0 }
            return (len, String(decoding: bytes, as: UTF8.self))
          }
          if eventName == name { relevant = true }
          off += MemoryLayout<inotify_event>.size + len
        }
      }
      guard relevant else { return }
      self.pending?.cancel()
      let work = DispatchWorkItem { onChange() }
      self.pending = work
      self.queue.asyncAfter(deadline: .now() + .milliseconds(300), execute: work)
    }
    source.setCancelHandler { [fd] in close(fd) }
    source.resume()
  }

  public func cancel() {
    queue.sync {
      pending?.cancel()
      source.cancel()
    }
  }
}
