import Foundation
import Testing

@testable import Daemon

private func feeds(_ text: String) throws -> [Config.FeedConfig] {
  try Config.parse(text, environment: [:]).feeds
}

private let commented = """
  # My feeds. Edited by hand and by `feedspool add`.
  interval: 60m   # poll hourly

  feeds:
    # AI
    - url: https://example.org/ai/feed.xml
      topics: [AI]
      # fullText: true   (too slow for now)

    - url: https://example.net/atom.xml   # the good one
      topics: [AI, Research]
      category: research

  # pages read once
  articles:
    - url: https://example.com/a/page
      topics: [AI]

  network:
    allow: []

  """

@Test func addKeepsEveryOtherByteAndFollowsTheEntryStyle() throws {
  let out = try ConfigEditor.addFeed(
    to: commented, url: " https://example.com/new.xml ", topics: ["AI", "Open models"],
    category: nil)
  // The file up to the inserted lines and from them on is unchanged, byte for byte.
  let marker = "    category: research\n"
  let split = try #require(commented.range(of: marker))
  let head = String(commented[..<split.upperBound])
  let tail = String(commented[split.upperBound...])
  #expect(out.hasPrefix(head))
  #expect(out.hasSuffix(tail))
  let inserted = String(out.dropFirst(head.count).dropLast(tail.count))
  // Entries in this file are separated by a blank line: so is the new one.
  #expect(
    inserted == """

        - url: https://example.com/new.xml
          topics: [AI, Open models]

      """)
  let f = try feeds(out)
  #expect(f.map(\.url).last == "https://example.com/new.xml")
  #expect(f.last?.topics == ["AI", "Open models"])
  #expect(f.last?.category == "news")
}

@Test func removeTakesTheEntryWithItsInnerComments() throws {
  let out = try ConfigEditor.removeFeed(from: commented, url: "https://example.org/ai/feed.xml")
  #expect(
    out == """
      # My feeds. Edited by hand and by `feedspool add`.
      interval: 60m   # poll hourly

      feeds:
        # AI
        - url: https://example.net/atom.xml   # the good one
          topics: [AI, Research]
          category: research

      # pages read once
      articles:
        - url: https://example.com/a/page
          topics: [AI]

      network:
        allow: []

      """)
  // And the last entry: its trailing comment-free lines go, the section comment stays.
  let out2 = try ConfigEditor.removeFeed(from: commented, url: "https://example.net/atom.xml")
  #expect(!out2.contains("example.net"))
  #expect(out2.contains("# fullText: true   (too slow for now)\n\n# pages read once"))
  #expect(try feeds(out2).map(\.url) == ["https://example.org/ai/feed.xml"])
}

@Test func addThenRemoveGivesTheFileBack() throws {
  for text in [commented, fourSpaces, bare, zeroIndent, gapAfterDash] {
    let added = try ConfigEditor.addFeed(
      to: text, url: "https://round.example/trip.xml", topics: ["X"], category: "research")
    #expect(try feeds(added).count == feeds(text).count + 1)
    let removed = try ConfigEditor.removeFeed(from: added, url: "https://round.example/trip.xml")
    #expect(removed == text)
  }
}

private let fourSpaces = """
  feeds:
      - url: https://a.example/feed
        topics: [A]
  network:
      allow: []

  """

@Test func fourSpaceIndentation() throws {
  let out = try ConfigEditor.addFeed(
    to: fourSpaces, url: "https://b.example/feed", topics: [], category: nil)
  #expect(
    out == """
      feeds:
          - url: https://a.example/feed
            topics: [A]
          - url: https://b.example/feed
      network:
          allow: []

      """)
}

private let gapAfterDash = """
  feeds:
  -   url: https://a.example/feed
      topics: [A]
  -   url: https://c.example/feed
  interval: 2h

  """

@Test func spacesAfterTheDashAreKept() throws {
  let out = try ConfigEditor.addFeed(
    to: gapAfterDash, url: "https://b.example/feed", topics: ["B"], category: "science")
  #expect(
    out == """
      feeds:
      -   url: https://a.example/feed
          topics: [A]
      -   url: https://c.example/feed
      -   url: https://b.example/feed
          topics: [B]
          category: science
      interval: 2h

      """)
  #expect(try feeds(out).last?.category == "science")
}

private let zeroIndent = """
  feeds:
  - url: https://a.example/feed
  articles:
  - https://a.example/page

  """

@Test func dashesAtTheKeyColumn() throws {
  let out = try ConfigEditor.addFeed(
    to: zeroIndent, url: "https://b.example/feed", topics: [], category: nil)
  #expect(out.hasPrefix("feeds:\n- url: https://a.example/feed\n- url: https://b.example/feed\n"))
  let a = try ConfigEditor.addArticle(
    to: zeroIndent, url: "https://b.example/page", topics: [], category: nil)
  #expect(a.hasSuffix("- https://a.example/page\n- https://b.example/page\n"))
  #expect(try Config.parse(a, environment: [:]).articles.map(\.url).count == 2)
  let r = try ConfigEditor.removeArticle(from: a, url: "https://a.example/page")
  #expect(try Config.parse(r, environment: [:]).articles.map(\.url) == ["https://b.example/page"])
}

private let bare = """
  feeds:
    - https://a.example/feed
    - 'https://b.example/feed'   # quoted
    - "https://c.example/feed"
  """

@Test func bareStringEntries() throws {
  // Without topics the new entry is a bare string like the others; the file had no final
  // newline, nor has the result.
  let out = try ConfigEditor.addFeed(
    to: bare, url: "https://d.example/feed", topics: [], category: nil)
  #expect(out == bare + "\n  - https://d.example/feed")
  // With topics it has to be a mapping.
  let out2 = try ConfigEditor.addFeed(
    to: bare, url: "https://d.example/feed", topics: ["D"], category: nil)
  #expect(out2.hasSuffix("\n  - url: https://d.example/feed\n    topics: [D]"))
  // Quoted entries are found by their value.
  let out3 = try ConfigEditor.removeFeed(from: bare, url: "https://b.example/feed")
  #expect(
    out3 == """
      feeds:
        - https://a.example/feed
        - "https://c.example/feed"
      """)
}

@Test func emptyListsAndMissingKey() throws {
  let cases: [(String, String)] = [
    ("feeds:\n", "feeds:\n  - url: https://n.example/f\n    topics: [T]\n"),
    (
      "feeds: []   # none yet\ninterval: 1h\n",
      "feeds:   # none yet\n  - url: https://n.example/f\n    topics: [T]\ninterval: 1h\n"
    ),
    ("feeds: ~\n", "feeds:\n  - url: https://n.example/f\n    topics: [T]\n"),
    ("interval: 1h\n", "interval: 1h\n\nfeeds:\n  - url: https://n.example/f\n    topics: [T]\n"),
    ("", "feeds:\n  - url: https://n.example/f\n    topics: [T]\n"),
    // A new key at the end of the file ends with a newline.
    (
      "# only a comment",
      "# only a comment\n\nfeeds:\n  - url: https://n.example/f\n    topics: [T]\n"
    ),
    // A file indented by 4 gets its new list indented by 4.
    (
      "network:\n    allow: []\n",
      "network:\n    allow: []\n\nfeeds:\n    - url: https://n.example/f\n      topics: [T]\n"
    ),
  ]
  for (input, expected) in cases {
    let out = try ConfigEditor.addFeed(
      to: input, url: "https://n.example/f", topics: ["T"], category: nil)
    #expect(out == expected, "from \(input.debugDescription)")
  }
  // The articles list's style is followed when feeds has none of its own.
  let out = try ConfigEditor.addFeed(
    to: "articles:\n-   url: https://a.example/p\n", url: "https://n.example/f", topics: [],
    category: nil)
  #expect(
    out == "articles:\n-   url: https://a.example/p\n\nfeeds:\n-   url: https://n.example/f\n")
}

@Test func removingTheOnlyEntryLeavesAnEmptyList() throws {
  let out = try ConfigEditor.removeFeed(
    from: "feeds:\n  - url: https://a.example/f\n    topics: [A]\ninterval: 1h\n",
    url: "https://a.example/f")
  #expect(out == "feeds:\ninterval: 1h\n")
  #expect(try feeds(out).isEmpty)
  // And adding to that again works.
  let again = try ConfigEditor.addFeed(
    to: out, url: "https://a.example/f", topics: [], category: nil)
  #expect(try feeds(again).map(\.url) == ["https://a.example/f"])
}

@Test func flowListsAreRefusedWithAClearMessage() throws {
  let text = "feeds: [https://a.example/f, https://b.example/f]\n"
  #expect(throws: ConfigEditError.self) {
    try ConfigEditor.addFeed(to: text, url: "https://c.example/f", topics: [], category: nil)
  }
  do {
    _ = try ConfigEditor.removeFeed(from: text, url: "https://a.example/f")
    Issue.record("expected a refusal")
  } catch {
    guard case .unsupportedLayout(let message) = error else {
      Issue.record("unexpected \(error)")
      return
    }
    #expect(message.contains("flow list"))
    #expect(message.contains("block list"))
  }
}

@Test func duplicatesAndMissingURLsAreErrors() throws {
  #expect(throws: ConfigEditError.alreadyListed(url: "https://example.net/atom.xml", list: "feeds"))
  {
    try ConfigEditor.addFeed(
      to: commented, url: "  https://example.net/atom.xml\t", topics: [], category: nil)
  }
  #expect(throws: ConfigEditError.notListed(url: "https://nowhere.example/", list: "feeds")) {
    try ConfigEditor.removeFeed(from: commented, url: "https://nowhere.example/")
  }
  // An article's URL is not a feed's.
  #expect(throws: ConfigEditError.notListed(url: "https://example.com/a/page", list: "feeds")) {
    try ConfigEditor.removeFeed(from: commented, url: "https://example.com/a/page")
  }
  #expect(throws: ConfigEditError.invalidURL("ftp://example.org/feed")) {
    try ConfigEditor.addFeed(
      to: commented, url: "ftp://example.org/feed", topics: [], category: nil)
  }
  let message = ConfigEditError.alreadyListed(url: "https://x.example/", list: "feeds").description
  #expect(message == "https://x.example/ is already listed in feeds")
}

@Test func aBrokenConfigIsNotEdited() {
  let error = #expect(throws: ConfigEditError.self) {
    try ConfigEditor.addFeed(
      to: "feeds:\n  - url: https://a.example/f\n  interval: [\n", url: "https://b.example/f",
      topics: [], category: nil)
  }
  guard case .invalidConfig = error else {
    Issue.record("expected invalidConfig, got \(String(describing: error))")
    return
  }
}

@Test func valuesThatNeedQuotingAreQuoted() throws {
  let topics = [
    "C++", "a, b", "[x]", "yes", "123", "#tag", "key: value", " padded ", "", "don't",
    "say \"hi\"", "Ünïcödé 日本", "back\\slash", "line\nbreak", "@user", "null",
  ]
  // URLs never need quotes in block context (no spaces, an http scheme first).
  let url = "https://example.org/feed?a=1&b=x:y&c=%5B2%5D#frag"
  let out = try ConfigEditor.addFeed(to: commented, url: url, topics: topics, category: "a: b")
  let f = try #require(try feeds(out).last)
  #expect(f.url == url)
  #expect(f.topics == topics)
  #expect(f.category == "a: b")
  // Plain where plain is safe.
  #expect(out.contains("topics: [C++, \"a, b\", \"[x]\", \"yes\", \"123\""))
  #expect(out.contains(", Ünïcödé 日本, "))
  #expect(out.contains("  - url: \(url)\n"))
  #expect(out.contains("\"line\\nbreak\""))
}

@Test func crlfFilesStayCRLF() throws {
  let text = "interval: 1h\r\nfeeds:\r\n  - url: https://a.example/f\r\n    topics: [A]\r\n"
  let out = try ConfigEditor.addFeed(
    to: text, url: "https://b.example/f", topics: ["B"], category: nil)
  #expect(out == text + "  - url: https://b.example/f\r\n    topics: [B]\r\n")
  #expect(try ConfigEditor.removeFeed(from: out, url: "https://b.example/f") == text)
}

@Test func dashAloneOnItsLine() throws {
  let text = "feeds:\n  -\n    url: https://a.example/f\n    topics: [A]\nspool: /tmp/s\n"
  let out = try ConfigEditor.addFeed(
    to: text, url: "https://b.example/f", topics: [], category: nil)
  #expect(
    out
      == "feeds:\n  -\n    url: https://a.example/f\n    topics: [A]\n  - url: https://b.example/f\nspool: /tmp/s\n"
  )
  let removed = try ConfigEditor.removeFeed(from: text, url: "https://a.example/f")
  #expect(removed == "feeds:\nspool: /tmp/s\n")
}

@Test func multiLineValuesInsideAnEntry() throws {
  let text = """
    feeds:
      - url: https://a.example/f
        title: |
          A long title
          - with a dash line
        topics:
          - A
          - B
      - url: https://b.example/f
    """
  let out = try ConfigEditor.removeFeed(from: text, url: "https://a.example/f")
  #expect(out == "feeds:\n  - url: https://b.example/f")
  let out2 = try ConfigEditor.removeFeed(from: text, url: "https://b.example/f")
  #expect(try feeds(out2).map(\.url) == ["https://a.example/f"])
  #expect(try feeds(out2).first?.topics == ["A", "B"])
}

@Test func editFileWritesAtomicallyKeepingTheMode() throws {
  let dir = FileManager.default.temporaryDirectory.appendingPathComponent(
    "feedspool-edit-\(UUID().uuidString)"
  ).path
  try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
  defer { try? FileManager.default.removeItem(atPath: dir) }
  let path = dir + "/feedspool.yaml"
  try commented.write(toFile: path, atomically: false, encoding: .utf8)
  chmod(path, 0o640)
  // Through a symlink: the target is replaced, the link stays a link.
  let link = dir + "/link.yaml"
  try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: path)

  try ConfigEditor.editFile(link) {
    try ConfigEditor.addFeed(to: $0, url: "https://z.example/f", topics: [], category: nil)
  }
  let text = try String(contentsOfFile: path, encoding: .utf8)
  #expect(try feeds(text).map(\.url).last == "https://z.example/f")
  var st = stat()
  #expect(stat(path, &st) == 0)
  #expect(st.st_mode & 0o777 == 0o640)
  #expect(lstat(link, &st) == 0 && (st.st_mode & S_IFMT) == S_IFLNK)
  // No temporary file is left behind.
  #expect(
    try FileManager.default.contentsOfDirectory(atPath: dir).sorted() == [
      "feedspool.yaml", "link.yaml",
    ])

  // A refused edit writes nothing.
  #expect(throws: ConfigEditError.self) {
    try ConfigEditor.editFile(path) {
      try ConfigEditor.addFeed(to: $0, url: "https://z.example/f", topics: [], category: nil)
    }
  }
  #expect(try String(contentsOfFile: path, encoding: .utf8) == text)

  // A missing file: an error, unless asked to create it.
  let fresh = dir + "/new.yaml"
  #expect(throws: ConfigEditError.self) {
    try ConfigEditor.editFile(fresh) { $0 }
  }
  try ConfigEditor.editFile(fresh, createIfMissing: true) {
    try ConfigEditor.addFeed(to: $0, url: "https://n.example/f", topics: ["N"], category: nil)
  }
  #expect(try feeds(String(contentsOfFile: fresh, encoding: .utf8)).map(\.topics) == [["N"]])
}

@Test func batchAddSkipsAndReportsWhatCannotBeAdded() throws {
  let result = try ConfigEditor.addFeeds(
    to: commented,
    [
      .init(url: "https://one.example/f", topics: ["A"], title: "One: the first"),
      .init(url: "not a url"),
      .init(url: "https://example.net/atom.xml"),  // already in the file
      .init(url: "https://two.example/f", category: "research"),
      .init(url: " https://one.example/f "),  // twice in the batch
    ])
  #expect(result.added == ["https://one.example/f", "https://two.example/f"])
  #expect(
    result.skipped == [
      .invalidURL("not a url"),
      .alreadyListed(url: "https://example.net/atom.xml", list: "feeds"),
      .alreadyListed(url: "https://one.example/f", list: "feeds"),
    ])
  // Both new entries follow the file's blank-line-separated style.
  #expect(
    result.text.contains(
      """
          category: research

        - url: https://one.example/f
          title: "One: the first"
          topics: [A]

        - url: https://two.example/f
          category: research

      # pages read once
      """))
  #expect(try feeds(result.text).map(\.url).suffix(2) == result.added[...])
  #expect(try feeds(result.text).suffix(2).map(\.title) == ["One: the first", nil])
  // Nothing to add: the text comes back as it was.
  let none = try ConfigEditor.addFeeds(to: commented, [.init(url: "https://example.net/atom.xml")])
  #expect(none.text == commented)
  #expect(none.added.isEmpty)
}

/// The sample config shipped in Config/: every feed can be removed, and removing only
/// takes that entry's lines; re-adding it gives the same feeds.
@Test func everyFeedOfTheSampleConfig() throws {
  let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("Config/feedspool.yaml").path
  let sample = try String(contentsOfFile: path, encoding: .utf8)
  let original = try feeds(sample)
  #expect(original.count >= 3)
  let sampleLines = sample.split(separator: "\n", omittingEmptySubsequences: false)
  for f in original {
    let removed = try ConfigEditor.removeFeed(from: sample, url: f.url)
    #expect(try feeds(removed) == original.filter { $0.url != f.url })
    // Only lines went, and the ones that went hold this feed's URL first.
    let left = removed.split(separator: "\n", omittingEmptySubsequences: false)
    let gone = sampleLines.count - left.count
    #expect(gone >= 1)
    let start = try #require(left.indices.first { sampleLines[$0] != left[$0] })
    #expect(Array(sampleLines[..<start] + sampleLines[(start + gone)...]) == left)
    #expect(sampleLines[start].contains(f.url))
    let back = try ConfigEditor.addFeed(
      to: removed, url: f.url, topics: f.topics,
      category: f.category == "news" ? nil : f.category)
    var expected = original.filter { $0.url != f.url }
    var plain = Config.FeedConfig(url: f.url)
    plain.topics = f.topics
    plain.category = f.category
    expected.append(plain)
    #expect(try feeds(back) == expected)
  }
}
