import Foundation
import Synchronization

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// A fresh directory under `FileManager.default.temporaryDirectory`, removed with all its
/// contents by `remove()` or when the object goes away.
public final class TemporaryDirectory: Sendable {
  public let url: URL
  public var path: String { url.path }
  private let removed = Mutex(false)

  public enum CreationError: Error {
    case mkdtemp(Int32)
  }

  /// Creates "PREFIX.XXXXXX" (unique, mode 0700).
  public init(prefix: String = "feedspool-test") throws {
    let base = FileManager.default.temporaryDirectory.path
    var template = Array("\(base)/\(prefix).XXXXXX".utf8CString)
    guard let made = mkdtemp(&template) else { throw CreationError.mkdtemp(errno) }
    url = URL(fileURLWithPath: String(cString: made), isDirectory: true)
  }

  deinit {
    remove()
  }

  /// Deletes the directory and its contents; later calls do nothing.
  public func remove() {
    let first = removed.withLock { done -> Bool in
      defer { done = true }
      return !done
    }
    if first { try? FileManager.default.removeItem(at: url) }
  }

  /// `url` + a relative path.
  public func appending(_ relativePath: String) -> URL {
    url.appendingPathComponent(relativePath)
  }
}
