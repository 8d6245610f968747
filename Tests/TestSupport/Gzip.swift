import Foundation

public enum GzipError: Error {
  case failed(status: Int32)
}

/// Compresses `bytes` with the system's /bin/gzip (`-n`: no name or time stamp, so equal
/// input gives equal output), for serving `Content-Encoding: gzip` in tests.
public func gzip(_ bytes: [UInt8]) throws -> [UInt8] {
  let directory = try TemporaryDirectory(prefix: "gzip")
  let input = directory.url.appendingPathComponent("body")
  try Data(bytes).write(to: input)
  let process = Process()
  process.executableURL = URL(fileURLWithPath: "/bin/gzip")
  process.arguments = ["-n", "-f", input.path]
  try process.run()
  process.waitUntilExit()
  guard process.terminationStatus == 0 else {
    throw GzipError.failed(status: process.terminationStatus)
  }
  return Array(try Data(contentsOf: directory.url.appendingPathComponent("body.gz")))
}
