import Daemon
import Foundation
import TestSupport
import Testing

@Suite struct TailTests {
  /// A delivered file is found where a Maildir reader put it, whatever its flags.
  @Test func locateFindsFilesInCurWithAnyFlags() throws {
    let dir = try TemporaryDirectory()
    defer { dir.remove() }
    let fm = FileManager.default
    for sub in ["new", "cur"] {
      try fm.createDirectory(atPath: dir.path + "/" + sub, withIntermediateDirectories: true)
    }
    for file in ["new/a.md", "cur/b.md:2,S", "cur/c.md:2,RS", "cur/d.md:2,FS", "cur/e.md"] {
      try "x".write(toFile: dir.path + "/" + file, atomically: false, encoding: .utf8)
    }
    let tail = Tail(spool: dir.path)
    #expect(tail.locate("a.md") == "new/a.md")
    #expect(tail.locate("b.md") == "cur/b.md:2,S")
    #expect(tail.locate("c.md") == "cur/c.md:2,RS")
    #expect(tail.locate("d.md") == "cur/d.md:2,FS")
    #expect(tail.locate("e.md") == "cur/e.md")
    #expect(tail.locate("f.md") == nil)
    // Moved on by the reader: found again.
    try fm.moveItem(atPath: dir.path + "/cur/c.md:2,RS", toPath: dir.path + "/cur/c.md:2,FRS")
    #expect(tail.locate("c.md") == "cur/c.md:2,FRS")
  }
}
