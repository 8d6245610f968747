import Foundation
import TestSupport
import Testing

@testable import Daemon

/// The per-feed state on disk: a snapshot plus a journal of what changed, read back as
/// it was written, cheap to flush, and tolerant of a crash at any point.
@Suite struct FeedStateStoreTests {
  static func url(_ i: Int) -> String { "https://feeds\(i % 7).example/feed/\(i)" }

  /// Sets validators and a due time on `count` feeds.
  static func fill(_ store: FeedStateStore, _ range: Range<Int>, etag: String) {
    for i in range {
      store.update(url(i)) { s in
        s.etag = "\"\(etag)-\(i)\""
        s.lastModified = "Tue, 14 Nov 2023 22:13:20 GMT"
        s.nextDue = Date(timeIntervalSince1970: 1_800_000_000 + Double(i))
        s.delivered = i
        s.title = "Feed \(i) \u{2014} \"quoted\"\nand a newline"
        var h = FeedHints()
        h.ttl = 3600
        h.skipHours = [1, 2]
        s.hints = h
      }
    }
  }

  /// A store in `dir` after one flush per round (feeds `range` given validators `etag`).
  static func flushed(_ dir: TemporaryDirectory, _ rounds: [(Range<Int>, String)]) throws
    -> FeedStateStore
  {
    let store = try FeedStateStore(directory: dir.path)
    for (range, etag) in rounds {
      fill(store, range, etag: etag)
      try store.flush()
    }
    return store
  }

  /// Bytes added at the end of the journal behind the store's back (a crash's leftovers).
  static func appendToJournal(_ dir: TemporaryDirectory, _ bytes: Data) throws {
    let h = try #require(FileHandle(forWritingAtPath: dir.path + "/feeds.journal"))
    try h.seekToEnd()
    try h.write(contentsOf: bytes)
    try h.close()
  }

  @Test func statesReadBackAsWrittenAcrossRestarts() throws {
    let dir = try TemporaryDirectory()
    defer { dir.remove() }
    let store = try FeedStateStore(directory: dir.path)
    Self.fill(store, 0..<50, etag: "a")
    store.blockOrigin("https://feeds3.example/x", until: Date().addingTimeInterval(3600))
    try store.flush()
    Self.fill(store, 10..<12, etag: "b")  // a journal append after the snapshot
    try store.flush()
    let again = try FeedStateStore(directory: dir.path)
    #expect(again.skippedLines == 0)
    #expect(again.all.count == 50)
    for i in 0..<50 { #expect(again[Self.url(i)] == store[Self.url(i)]) }
    #expect(again[Self.url(11)].etag == "\"b-11\"")
    #expect(again.originWait(for: "https://feeds3.example/y", now: Date()) != nil)
    #expect(again.originWait(for: "https://feeds4.example/y", now: Date()) == nil)
  }

  @Test func aFlushWritesWhatChangedNotEveryFeed() throws {
    let dir = try TemporaryDirectory()
    defer { dir.remove() }
    let store = try FeedStateStore(directory: dir.path)
    Self.fill(store, 0..<2000, etag: "a")
    try store.flush()
    let (snapshot, journal) = store.fileSizes
    #expect(snapshot > 2000 * 100)
    Self.fill(store, 0..<3, etag: "b")
    try store.flush()
    let after = store.fileSizes
    #expect(after.snapshot == snapshot)  // not rewritten
    #expect(after.journal > journal && after.journal - journal < 3 * 600)
    try store.flush()  // nothing changed: nothing written
    #expect(store.fileSizes == after)
    // Read back across many 64 KiB reads.
    let again = try FeedStateStore(directory: dir.path)
    #expect(again.skippedLines == 0)
    #expect(again.all.count == 2000)
    #expect(again[Self.url(1)].etag == "\"b-1\"")
    #expect(again[Self.url(1999)] == store[Self.url(1999)])
  }

  @Test func theJournalIsFoldedIntoANewSnapshotOnceItOutgrowsIt() throws {
    let dir = try TemporaryDirectory()
    defer { dir.remove() }
    let store = try Self.flushed(dir, [(0..<100, "a")])
    // Small rounds of changes: appended until the journal passes its allowance.
    var round = 0
    while store.fileSizes.journal <= FeedStateStore.journalAllowance {
      round += 1
      Self.fill(store, 0..<20, etag: "r\(round)")
      try store.flush()
      #expect(round < 2000)
      if round >= 2000 { break }
    }
    Self.fill(store, 0..<20, etag: "last")
    try store.flush()
    #expect(store.fileSizes.journal < 100)  // a fresh journal: the header alone
    let again = try FeedStateStore(directory: dir.path)
    #expect(again[Self.url(5)].etag == "\"last-5\"")
    #expect(again[Self.url(50)].etag == "\"a-50\"")
  }

  @Test func aTornJournalTailIsSkippedAndCutBeforeTheNextAppend() throws {
    let dir = try TemporaryDirectory()
    defer { dir.remove() }
    _ = try Self.flushed(dir, [(0..<10, "a"), (0..<1, "b")])
    // A crash in the middle of an append: half a line at the end.
    let journal = dir.path + "/feeds.journal"
    try Self.appendToJournal(dir, Data("F\t{\"url\":\"https://feeds2.example/feed/2\",\"et".utf8))

    let tornSize = try FileManager.default.attributesOfItem(atPath: journal)[.size] as! Int
    let reader = try FeedStateStore(directory: dir.path)
    #expect(reader.skippedLines == 1)
    #expect(try FileManager.default.attributesOfItem(atPath: journal)[.size] as! Int == tornSize)
    #expect(reader[Self.url(0)].etag == "\"b-0\"")
    #expect(reader[Self.url(2)].etag == "\"a-2\"")
    // Only a writer cuts the tail (a reader such as `status` must not), then appends.
    reader.update(Self.url(3)) { $0.etag = "\"c-3\"" }
    try reader.flush()
    let again = try FeedStateStore(directory: dir.path)
    #expect(again.skippedLines == 0)
    #expect(again[Self.url(3)].etag == "\"c-3\"")
    #expect(again[Self.url(0)].etag == "\"b-0\"")
  }

  @Test func aJournalOfAnOlderSnapshotIsIgnored() throws {
    let dir = try TemporaryDirectory()
    defer { dir.remove() }
    let store = try Self.flushed(dir, [(0..<10, "a"), (0..<1, "old")])
    let oldJournal = try Data(contentsOf: URL(fileURLWithPath: dir.path + "/feeds.journal"))
    Self.fill(store, 0..<10, etag: "new")  // most feeds changed: a new snapshot
    try store.flush()
    // A crash after the new snapshot but before its journal replaced the old one.
    try oldJournal.write(to: URL(fileURLWithPath: dir.path + "/feeds.journal"))
    let again = try FeedStateStore(directory: dir.path)
    #expect(again[Self.url(0)].etag == "\"new-0\"")
  }

  @Test func aFailureAfterTheSnapshotLeavesNoAppendsToAnIgnoredJournal() throws {
    let dir = try TemporaryDirectory()
    defer { dir.remove() }
    let store = try Self.flushed(dir, [(0..<10, "a")])
    // The new journal cannot be created (here: a directory in the way) after the new
    // snapshot was renamed into place.
    let blocker = dir.path + "/feeds.journal.new"
    try FileManager.default.createDirectory(atPath: blocker, withIntermediateDirectories: false)
    Self.fill(store, 0..<10, etag: "b")
    #expect(throws: (any Error).self) { try store.flush() }
    try FileManager.default.removeItem(atPath: blocker)
    Self.fill(store, 0..<1, etag: "c")  // one change: would be an append
    try store.flush()
    let again = try FeedStateStore(directory: dir.path)
    #expect(again[Self.url(0)].etag == "\"c-0\"")
    #expect(again[Self.url(5)].etag == "\"b-5\"")
  }

  @Test func anOverlongLineIsDroppedNotHeld() throws {
    let dir = try TemporaryDirectory()
    defer { dir.remove() }
    let store = try Self.flushed(dir, [(0..<10, "a"), (0..<1, "b")])
    // 17 MiB without a newline (say, a block of zeros after a crash), then a good line.
    try Self.appendToJournal(dir, Data(count: 17 << 20) + Data("\n".utf8))
    Self.fill(store, 0..<1, etag: "c")
    let again = try FeedStateStore(directory: dir.path)
    #expect(again.skippedLines == 1)
    #expect(again[Self.url(0)].etag == "\"b-0\"")
    #expect(again[Self.url(1)].etag == "\"a-1\"")
  }

  @Test func aDamagedLineCostsOnlyItsFeed() throws {
    let dir = try TemporaryDirectory()
    defer { dir.remove() }
    _ = try Self.flushed(dir, [(0..<5, "a")])
    let path = dir.path + "/feeds.state"
    var text = try String(contentsOfFile: path, encoding: .utf8)
    let target = "\"\\\"a-3\\\"\""
    #expect(text.contains(target))
    text = text.replacingOccurrences(of: target, with: "\"\\\"a-3\\\"")  // unbalanced quote
    try text.write(toFile: path, atomically: true, encoding: .utf8)
    let again = try FeedStateStore(directory: dir.path)
    #expect(again.skippedLines == 1)
    #expect(again[Self.url(3)].etag == nil)  // fetched afresh; dedup keeps the spool clean
    #expect(again[Self.url(4)].etag == "\"a-4\"")
  }

  @Test func theFirstFormatIsReadAndReplaced() throws {
    let dir = try TemporaryDirectory()
    defer { dir.remove() }
    let legacy = """
      {
        "feeds" : [
          { "url" : "https://a.example/feed", "etag" : "\\"x1\\"", "errorCount" : 2,
            "nextDue" : 1800000000, "delivered" : 7 }
        ],
        "origins" : { "blockedUntil" : {}, "groups" : [] }
      }
      """
    try legacy.write(toFile: dir.path + "/feeds.json", atomically: true, encoding: .utf8)
    let store = try FeedStateStore(directory: dir.path)
    #expect(store["https://a.example/feed"].etag == "\"x1\"")
    #expect(store["https://a.example/feed"].delivered == 7)
    try store.flush()
    #expect(!FileManager.default.fileExists(atPath: dir.path + "/feeds.json"))
    let again = try FeedStateStore(directory: dir.path)
    #expect(again["https://a.example/feed"].errorCount == 2)
  }
}

/// The states' table: one row per URL, replaced in place, removed by moving the last row
/// into the gap; reserved to size, it never doubles.
@Test func stateTableKeepsOneRowPerURL() {
  var t = StateTable()
  t.reserve(1000)
  for i in 0..<1000 { t["https://f.example/\(i)"] = FeedState(url: "https://f.example/\(i)") }
  var s = FeedState(url: "https://f.example/7")
  s.etag = "\"v2\""
  t["https://f.example/7"] = s
  #expect(t.count == 1000)
  #expect(t["https://f.example/7"]?.etag == "\"v2\"")
  t["https://f.example/3"] = nil
  t["https://f.example/999"] = nil
  t["https://f.example/nothing"] = nil
  #expect(t.count == 998)
  #expect(t["https://f.example/3"] == nil && t["https://f.example/999"] == nil)
  #expect(t["https://f.example/998"]?.url == "https://f.example/998")
  #expect(Set(t.rows.map(\.url)).count == 998)
  #expect(t.rows.capacity < 1000 + 1000 / 8)
  #expect((0..<1000).filter { t["https://f.example/\($0)"] != nil }.count == 998)
}
