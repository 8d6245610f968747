import Foundation
import Testing

@testable import Spool

/// A fresh directory under /tmp for one test; removed at the end.
final class Scratch {
  let path: String
  init() {
    path = NSTemporaryDirectory() + "feedspool-spool-\(UUID().uuidString)"
    try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
  }
  deinit { try? FileManager.default.removeItem(atPath: path) }
  var spool: String { path + "/spool" }
  var state: String { path + "/state" }
  func files(_ sub: String) -> [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: spool + "/" + sub)) ?? []).sorted()
  }
}

func article(_ url: String, _ name: String = "2024-01-01-a.md", body: String = "body")
  -> PendingArticle
{
  PendingArticle(
    key: URLKey(canonicalURL: url), fileName: name,
    contents: "---\ntitle: \"\(name)\"\nwebUrl: \"\(url)\"\n---\n\n\(body)\n")
}

@Test func murmurMatchesReferenceVectors() {
  #expect(URLKey(canonicalURL: "").description == String(repeating: "0", count: 32))
  #expect(URLKey(canonicalURL: "hello").description == "cbd8a7b341bd9b025b1e906a48ae1d19")
  #expect(
    URLKey(canonicalURL: "https://example.com/a?b=c").description
      == "678711f1fba40095658dfe5d75555b97")
  #expect(
    URLKey(canonicalURL: String(repeating: "x", count: 37)).description
      == "b4a806c4d724515b671bc3b2a8d8dc2b")
}

@Test func deliversIntoNewWithRecordsInOrder() async throws {
  let s = Scratch()
  let spool = try Spool(directory: s.spool, stateDirectory: s.state)
  let r = try await spool.deliver([
    article("https://a.example/1", "2024-01-01-one.md"),
    article("https://a.example/2", "2024-01-01-two.md"),
  ])
  #expect(r.map(\.seq) == [1, 2])
  #expect(s.files("new") == ["2024-01-01-one.md", "2024-01-01-two.md"])
  #expect(s.files("tmp").isEmpty)
  let text = try String(contentsOfFile: s.spool + "/new/2024-01-01-one.md", encoding: .utf8)
  #expect(text.contains("https://a.example/1"))
  let log = try DeliveryLog.read(spool: s.spool, from: 0)
  #expect(log.records.map(\.name) == ["2024-01-01-one.md", "2024-01-01-two.md"])
}

@Test func sameURLIsDeliveredOnceAcrossCallsAndRestarts() async throws {
  let s = Scratch()
  do {
    let spool = try Spool(directory: s.spool, stateDirectory: s.state)
    let a = try await spool.deliver([
      article("https://a.example/x"), article("https://a.example/x"),
    ])
    #expect(a.count == 1)
    let b = try await spool.deliver([article("https://a.example/x")])
    #expect(b.isEmpty)
  }
  let reopened = try Spool(directory: s.spool, stateDirectory: s.state)
  #expect(reopened.contains(URLKey(canonicalURL: "https://a.example/x")))
  let c = try await reopened.deliver([
    article("https://a.example/x"), article("https://a.example/y"),
  ])
  #expect(c.map(\.seq) == [2])
  #expect(s.files("new").count == 2)
}

@Test func clashingNamesAreMadeUnique() async throws {
  let s = Scratch()
  let spool = try Spool(directory: s.spool, stateDirectory: s.state)
  _ = try await spool.deliver([article("https://a.example/1", "2024-01-01-same.md")])
  _ = try await spool.deliver([
    article("https://a.example/2", "2024-01-01-same.md"),
    article("https://a.example/3", "2024-01-01-same.md"),
  ])
  #expect(s.files("new") == ["2024-01-01-same-2.md", "2024-01-01-same-3.md", "2024-01-01-same.md"])
}

/// The next free suffix is remembered per stem (a feed of 1,000 same-titled items a day
/// searched from `-2` each time); a name taken meanwhile by someone else, or a restart
/// that forgot, still never gives a name twice.
@Test func clashingNamesGoOnWhereTheyStopped() async throws {
  let s = Scratch()
  do {
    let spool = try Spool(directory: s.spool, stateDirectory: s.state)
    for i in 1...4 {
      _ = try await spool.deliver([article("https://a.example/\(i)", "2024-01-01-same.md")])
    }
    try "x".write(
      toFile: s.spool + "/new/2024-01-01-same-5.md", atomically: false, encoding: .utf8)
    let fifth = try await spool.deliver([article("https://a.example/5", "2024-01-01-same.md")])
    #expect(fifth.map(\.name) == ["2024-01-01-same-6.md"])
  }
  let spool = try Spool(directory: s.spool, stateDirectory: s.state)
  let sixth = try await spool.deliver([
    article("https://a.example/6", "2024-01-01-same.md"),
    article("https://a.example/7", "2024-01-01-same.md"),
  ])
  #expect(sixth.map(\.name) == ["2024-01-01-same-7.md", "2024-01-01-same-8.md"])
  #expect(s.files("new").count == 8)
}

/// A Maildir reader moves read files to cur/ (with ":2,flags"): a new article never takes
/// a name that is already there, also when cur/ was empty at the spool's first delivery.
@Test func namesInCurAreNotReused() async throws {
  let s = Scratch()
  let spool = try Spool(directory: s.spool, stateDirectory: s.state)
  _ = try await spool.deliver([article("https://a.example/1", "2024-01-01-read.md")])
  // The reader reads it: new/ -> cur/ with the Seen flag.
  try FileManager.default.moveItem(
    atPath: s.spool + "/new/2024-01-01-read.md", toPath: s.spool + "/cur/2024-01-01-read.md:2,S")
  _ = try await spool.deliver([article("https://a.example/2", "2024-01-01-read.md")])
  #expect(s.files("new") == ["2024-01-01-read-2.md"])
  // And one left in cur/ without flags.
  try FileManager.default.moveItem(
    atPath: s.spool + "/new/2024-01-01-read-2.md", toPath: s.spool + "/cur/2024-01-01-read-2.md")
  _ = try await spool.deliver([article("https://a.example/3", "2024-01-01-read.md")])
  #expect(s.files("new") == ["2024-01-01-read-3.md"])
}

/// Maildir readers write any flags after `:2,` (`RS`, `FS`, `DRS`, ...), and a name in
/// new/ may be a symbolic link that leads nowhere: neither name is given again, and the
/// link is not written through.
@Test func namesWithAnyFlagsOrDanglingLinksAreNotReused() async throws {
  let s = Scratch()
  let spool = try Spool(directory: s.spool, stateDirectory: s.state)
  _ = try await spool.deliver([article("https://a.example/1", "2024-01-01-flag.md")])
  try FileManager.default.moveItem(
    atPath: s.spool + "/new/2024-01-01-flag.md", toPath: s.spool + "/cur/2024-01-01-flag.md:2,FS")
  let second = try await spool.deliver([article("https://a.example/2", "2024-01-01-flag.md")])
  #expect(second.map(\.name) == ["2024-01-01-flag-2.md"])
  try FileManager.default.createSymbolicLink(
    atPath: s.spool + "/new/2024-01-01-link.md", withDestinationPath: s.spool + "/../outside.md")
  let third = try await spool.deliver([article("https://a.example/3", "2024-01-01-link.md")])
  #expect(third.map(\.name) == ["2024-01-01-link-2.md"])
  #expect(!FileManager.default.fileExists(atPath: s.spool + "/../outside.md"))
}

/// One daemon per state directory as per spool: two spools sharing one state directory
/// would each mark the other's articles as seen.
@Test func aSecondSpoolOnTheSameStateIsRefused() throws {
  let s = Scratch()
  let first = try Spool(directory: s.spool, stateDirectory: s.state)
  #expect(throws: SpoolError.self) {
    _ = try Spool(directory: s.spool + "-other", stateDirectory: s.state)
  }
  _ = first
}

/// A committed delivery whose file is still in tmp/ (its rename failed) is rolled
/// forward at the next start, also when a clean stop's checkpoint covers its record:
/// it was removed as never committed, and the article lost for good.
@Test func aCommittedFileLeftInTmpIsRolledForwardAfterACheckpoint() async throws {
  let s = Scratch()
  do {
    let spool = try Spool(directory: s.spool, stateDirectory: s.state)
    let d = try await spool.deliver([article("https://a.example/1", "2024-01-01-kept.md")])
    #expect(d.map(\.seq) == [1])
    // As if the rename had failed: the committed file back in tmp/.
    try FileManager.default.moveItem(
      atPath: s.spool + "/new/2024-01-01-kept.md", toPath: s.spool + "/tmp/1-2024-01-01-kept.md")
  }
  let reopened = try Spool(directory: s.spool, stateDirectory: s.state)
  #expect(s.files("new") == ["2024-01-01-kept.md"])
  #expect(s.files("tmp").isEmpty)
  _ = reopened
}

/// new/ moved away and made anew under a running daemon: deliveries go into the new
/// one (they went on into the moved directory, which readers no longer watch).
@Test func aReplacedNewDirectoryIsFollowed() async throws {
  let s = Scratch()
  let spool = try Spool(directory: s.spool, stateDirectory: s.state)
  _ = try await spool.deliver([article("https://a.example/1", "2024-01-01-one.md")])
  try FileManager.default.moveItem(atPath: s.spool + "/new", toPath: s.spool + "/new.moved")
  try FileManager.default.createDirectory(
    atPath: s.spool + "/new", withIntermediateDirectories: false)
  _ = try await spool.deliver([article("https://a.example/2", "2024-01-01-two.md")])
  #expect(s.files("new") == ["2024-01-01-two.md"])
  try FileManager.default.removeItem(atPath: s.spool + "/new")
  _ = try await spool.deliver([article("https://a.example/3", "2024-01-01-three.md")])
  #expect(s.files("new") == ["2024-01-01-three.md"])
}

@Test func unsafeNamesNeverEscapeTheSpool() async throws {
  let s = Scratch()
  let spool = try Spool(directory: s.spool, stateDirectory: s.state)
  _ = try await spool.deliver([
    article("https://a.example/1", "../../etc/passwd"),
    article("https://a.example/2", "-rf .md"),
    article("https://a.example/3", ""),
  ])
  #expect(s.files("new") == ["article.md", "etc-passwd.md", "rf.md"])
}

@Test func safeNamesKeepOnlyLowerCaseLettersDigitsAndDashes() {
  let cases: [(String, String)] = [
    ("2024-01-01-fine.md", "2024-01-01-fine.md"),
    ("2024-01-01-no-suffix", "2024-01-01-no-suffix.md"),
    ("Ünïcode Name!.md", "n-code-name.md"), ("a--b.md", "a--b.md"), ("-x-.md", "x.md"),
    ("..", "article.md"), (".md", "article.md"), ("UPPER.MD", "upper-md.md"),
    (String(repeating: "ab", count: 100) + ".md", String(repeating: "ab", count: 58) + ".md"),
    (String(repeating: "a", count: 115) + "-b.md", String(repeating: "a", count: 115) + ".md"),
  ]
  for (wanted, safe) in cases { #expect(Spool.safeName(wanted) == safe, "\(wanted)") }
  let key = URLKey(0x0123_4567_89ab_cdef_0011_2233_4455_6677)
  #expect(key.description == "0123456789abcdef0011223344556677")
  #expect(URLKey(hex: Substring(key.description)) == key)
  #expect(URLKey(5).description == String(repeating: "0", count: 31) + "5")
}

@Test func openingRollsForwardACommittedDeliveryAndDropsUncommittedOnes() async throws {
  let s = Scratch()
  do {
    let spool = try Spool(directory: s.spool, stateDirectory: s.state)
    _ = try await spool.deliver([article("https://a.example/1", "2024-01-01-one.md")])
  }
  // Simulate a crash after the commit point of seq 2 (tmp written, log line durable,
  // no rename) and a crash before the commit of seq 3 (tmp only).
  let key2 = URLKey(canonicalURL: "https://a.example/2")
  try "two".write(toFile: s.spool + "/tmp/2-2024-01-01-two.md", atomically: false, encoding: .utf8)
  try "three".write(
    toFile: s.spool + "/tmp/3-2024-01-01-three.md", atomically: false, encoding: .utf8)
  let h = try FileHandle(forWritingTo: URL(fileURLWithPath: DeliveryLog.path(spool: s.spool)))
  try h.seekToEnd()
  try h.write(contentsOf: Data("2 \(key2) 2024-01-01-two.md\n3 0000".utf8))  // + torn line
  try h.close()

  let spool = try Spool(directory: s.spool, stateDirectory: s.state)
  #expect(s.files("new") == ["2024-01-01-one.md", "2024-01-01-two.md"])
  #expect(s.files("tmp").isEmpty)
  #expect(spool.contains(key2))
  #expect(!spool.contains(URLKey(canonicalURL: "https://a.example/3")))
  let r = try await spool.deliver([article("https://a.example/3", "2024-01-01-three.md")])
  #expect(r.map(\.seq) == [3])
  let log = try DeliveryLog.read(spool: s.spool, from: 0)
  #expect(log.records.map(\.seq) == [1, 2, 3])
}

@Test func aLostSeenTableIsRebuiltFromTheLog() async throws {
  let s = Scratch()
  do {
    let spool = try Spool(directory: s.spool, stateDirectory: s.state)
    _ = try await spool.deliver((0..<50).map { article("https://a.example/\($0)", "x-\($0).md") })
  }
  try FileManager.default.removeItem(atPath: s.state + "/seen.tbl")
  let spool = try Spool(directory: s.spool, stateDirectory: s.state)
  #expect(spool.count == 50)
  let again = try await spool.deliver([article("https://a.example/7", "x.md")])
  #expect(again.isEmpty)
}

@Test func aStaleSeenTableIsCheckedAgainstTheLog() async throws {
  let s = Scratch()
  do {
    let spool = try Spool(directory: s.spool, stateDirectory: s.state)
    _ = try await spool.deliver([article("https://a.example/1", "a.md")])
  }
  // Another index (e.g. restored from an old backup) that disagrees with the log.
  let other = Scratch()
  do {
    let spool = try Spool(directory: other.spool, stateDirectory: other.state)
    _ = try await spool.deliver([article("https://b.example/1", "b.md")])
  }
  try FileManager.default.removeItem(atPath: s.state + "/seen.tbl")
  try FileManager.default.copyItem(atPath: other.state + "/seen.tbl", toPath: s.state + "/seen.tbl")
  let spool = try Spool(directory: s.spool, stateDirectory: s.state)
  #expect(spool.contains(URLKey(canonicalURL: "https://a.example/1")))
  #expect(!spool.contains(URLKey(canonicalURL: "https://b.example/1")))
}

@Test func concurrentDeliveriesAreAllCommittedOnceEach() async throws {
  let s = Scratch()
  let spool = try Spool(directory: s.spool, stateDirectory: s.state)
  let total = try await withThrowingTaskGroup(of: Int.self) { group in
    for g in 0..<20 {
      group.addTask {
        // Every group offers the same 10 shared URLs and 5 of its own.
        let shared = (0..<10).map { article("https://shared.example/\($0)", "s\($0).md") }
        let own = (0..<5).map { article("https://own.example/\(g)/\($0)", "o\(g)-\($0).md") }
        return try await spool.deliver(shared + own).count
      }
    }
    return try await group.reduce(0, +)
  }
  #expect(total == 10 + 20 * 5)
  #expect(s.files("new").count == 110)
  let seqs = try DeliveryLog.read(spool: s.spool, from: 0).records.map(\.seq)
  #expect(seqs == Array(1...110))
}

@Test func secondOpenOfTheSameSpoolIsRefused() throws {
  let s = Scratch()
  let first = try Spool(directory: s.spool, stateDirectory: s.state)
  #expect(throws: SpoolError.self) { _ = try Spool(directory: s.spool, stateDirectory: s.state) }
  _ = first
}

@Test func failedDeliveryMarksNothingSeen() async throws {
  let s = Scratch()
  let spool = try Spool(directory: s.spool, stateDirectory: s.state)
  // tmp/ replaced by a plain file: every write fails (ENOTDIR), as a full or
  // read-only disk would make it fail, even for root.
  try FileManager.default.moveItem(atPath: s.spool + "/tmp", toPath: s.path + "/tmp-away")
  _ = FileManager.default.createFile(atPath: s.spool + "/tmp", contents: Data("x".utf8))
  await #expect(throws: SpoolError.self) {
    _ = try await spool.deliver([article("https://a.example/1", "a.md")])
  }
  #expect(!spool.contains(URLKey(canonicalURL: "https://a.example/1")))
  #expect(try DeliveryLog.read(spool: s.spool, from: 0).records.isEmpty)
  try FileManager.default.removeItem(atPath: s.spool + "/tmp")
  try FileManager.default.moveItem(atPath: s.path + "/tmp-away", toPath: s.spool + "/tmp")
  let r = try await spool.deliver([article("https://a.example/1", "a.md")])
  #expect(r.map(\.seq) == [1])
}

/// The seen table grows well past its first size, keeps every key across a reopen, and
/// answers for keys it never saw.
@Test func seenTableGrowsAndKeepsEveryKey() throws {
  let s = Scratch()
  try FileManager.default.createDirectory(atPath: s.state, withIntermediateDirectories: true)
  let path = s.state + "/seen.tbl"
  let keys = (0..<20_000).map { URLKey(canonicalURL: "https://grow.example/\($0)").value }
  do {
    let t = try SeenTable.open(path: path)
    for (i, k) in keys.enumerated() { t.insert(k, seq: UInt64(i + 1)) }
    t.insert(0, seq: 20_001)  // the all-zero key, which cannot live in a slot
    try t.checkpoint()
    #expect(t.slots > SeenTable.initialSlots)
    #expect(t.entries == 20_001)
  }
  let t = try SeenTable.open(path: path)
  #expect(t.covered == 20_001)
  #expect(t.lastKey == 0)
  #expect(keys.allSatisfy { t.contains($0) })
  #expect(t.contains(0))
  #expect(!t.contains(URLKey(canonicalURL: "https://grow.example/never").value))
  // 16-byte slots at most 85% full after growing by half: 19 to 28 bytes a key.
  let size = try FileManager.default.attributesOfItem(atPath: path)[.size] as! Int
  #expect(size / 20_001 <= 28)
}

/// A crash after keys went into the table but before a checkpoint: the header still
/// vouches only for the older records, and the log replay at the next start covers the
/// rest, so nothing is delivered twice.
@Test func recordsAfterTheLastCheckpointAreReplayedFromTheLog() async throws {
  let s = Scratch()
  do {
    let spool = try Spool(directory: s.spool, stateDirectory: s.state)
    _ = try await spool.deliver((0..<10).map { article("https://c.example/\($0)", "c\($0).md") })
  }
  // Save the table as the clean close left it (it vouches for records 1...10).
  let path = s.state + "/seen.tbl"
  let vouched = try Data(contentsOf: URL(fileURLWithPath: path))
  do {
    let spool = try Spool(directory: s.spool, stateDirectory: s.state)
    _ = try await spool.deliver((10..<20).map { article("https://c.example/\($0)", "c\($0).md") })
  }
  // Put the older table back, as if the process died before checkpointing 11...20.
  try vouched.write(to: URL(fileURLWithPath: path))
  let spool = try Spool(directory: s.spool, stateDirectory: s.state)
  #expect(spool.count == 20)
  let again = try await spool.deliver(
    (0..<20).map { article("https://c.example/\($0)", "d\($0).md") })
  #expect(again.isEmpty)
}

/// A process killed after storing keys in the table but before its checkpoint: the keys
/// are in the slots, the header's count is not. The replay at the next start counts
/// them, so the table still grows in time (it filled up, and the next insert never
/// returned), and `count` says how many articles were delivered.
@Test func keysStoredButNotCheckpointedAreCountedOnReplay() throws {
  let s = Scratch()
  try FileManager.default.createDirectory(atPath: s.state, withIntermediateDirectories: true)
  let path = s.state + "/seen.tbl"
  let keys = (0..<3000).map { URLKey(canonicalURL: "https://kill.example/\($0)").value }
  do {
    let t = try SeenTable.open(path: path)
    for (i, k) in keys[0..<700].enumerated() { t.insert(k, seq: UInt64(i + 1)) }
    // No checkpoint: the process dies here (the mapping's pages survive it).
  }
  let t = try SeenTable.open(path: path)
  #expect(t.covered == 0)
  for (i, k) in keys[0..<700].enumerated() { t.insert(k, seq: UInt64(i + 1)) }  // replay
  #expect(t.entries == 700)
  for (i, k) in keys[700...].enumerated() { t.insert(k, seq: UInt64(701 + i)) }
  #expect(t.entries == 3000)
  #expect(t.slots * 3 >= t.entries * 4)
  #expect(keys.allSatisfy { t.contains($0) })
}
