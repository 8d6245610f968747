import Feeds
import Foundation
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
}
