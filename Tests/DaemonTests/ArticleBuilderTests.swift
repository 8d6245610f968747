import Articles
import Feeds
import Foundation
import Spool
import TestSupport
import Testing

@testable import Daemon

@Suite struct ArticleBuilderTests {
  /// An item's categories become topics, but not without end: 60,000 `<category>` in
  /// one item made 60,000 topics and a 650 KB front matter.
  @Test func anItemsCategoriesAreCappedAsTopics() throws {
    var item = FeedItem()
    item.title = "Many tags"
    item.link = "https://news.example/many"
    item.tags =
      ["Rust", "rust", ""] + (0..<60_000).map { "tag \($0)" }
      + [String(repeating: "long ", count: 100)]
    let origin = ArticleOrigin(feedURL: nil, topics: ["Mine"], category: "feeds")
    let a = try #require(
      ArticleBuilder.fromItem(
        item, feed: ParsedFeed(), feedURL: "https://news.example/feed", origin: origin,
        fetched: Date()))
    #expect(a.topics.count == ArticleBuilder.maxItemTopics + 1)
    #expect(a.topics.prefix(3) == ["Rust", "tag 0", "tag 1"])
    #expect(a.topics.last == "Mine")
    var long = FeedItem()
    long.link = "https://news.example/long"
    long.tags = [String(repeating: "long ", count: 100)]
    let b = try #require(
      ArticleBuilder.fromItem(
        long, feed: ParsedFeed(), feedURL: "https://news.example/feed", origin: origin,
        fetched: Date()))
    #expect(b.topics.first.map { $0.count <= 100 } == true)
  }

  /// Articles delivered under an earlier version's key (the raw query sorted, a `#!`
  /// kept) are found under it: links whose query the form reading rewrites (`+`, `%2F`,
  /// `k=`) would otherwise be delivered again after an upgrade.
  @Test func keysOfEarlierVersionsAreStillFound() async throws {
    let dir = try TemporaryDirectory()
    defer { dir.remove() }
    let spool = try Spool(directory: dir.path + "/spool", stateDirectory: dir.path + "/state")
    let old = [
      "https://a.example/s?b=1&a=x+y", "https://a.example/r?url=x%3Fid%3D5&aid=&z=1",
      "https://a.example/p?b=1&a=2#!/x",
    ]
    for (i, url) in old.enumerated() {
      let key = URLKey(canonicalURL: CanonicalURL.sortedQueryForm(url))
      #expect(!ArticleBuilder.lookUp(url, in: spool).delivered)
      _ = try await spool.deliver([
        PendingArticle(key: key, fileName: "2024-01-01-old-\(i).md", contents: "---\n---\nx\n")
      ])
      #expect(ArticleBuilder.lookUp(url, in: spool).delivered, "\(url)")
    }
  }
}
