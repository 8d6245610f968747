import Foundation
import Testing

@testable import Feeds

/// JSON Feeds that were lost whole over one value JSONSerialization refuses.
@Suite struct HostileJSONTests {
  static func feed(title: String, extra: String = "") -> [UInt8] {
    Array(
      """
      {"version": "https://jsonfeed.org/version/1.1", "title": "Kiln", \(extra)
       "items": [
        {"id": "1", "url": "https://kiln.test/1", "title": \(title)},
        {"id": "2", "url": "https://kiln.test/2", "title": "Glaze"}
       ]}
      """.utf8)
  }

  func parse(_ bytes: [UInt8]) throws -> ParsedFeed {
    try FeedParser.parse(bytes, url: "https://kiln.test/feed.json", contentType: nil)
  }

  @Test func loneSurrogateEscapesBecomeReplacementCharacters() throws {
    let cases: [(String, String)] = [
      (#""a\ud800b""#, "a\u{FFFD}b"),
      (#""a\udc00b""#, "a\u{FFFD}b"),
      (#""\uDBFF""#, "\u{FFFD}"),
      (#""\ud800\u0041""#, "\u{FFFD}A"),
      (#""\ud800\ud800\udc00""#, "\u{FFFD}\u{10000}"),
      (#""x\ud83d\ude00y""#, "x😀y"),  // a proper pair stays
    ]
    for (raw, expected) in cases {
      let f = try parse(Self.feed(title: raw))
      #expect(f.entries.map(\.title) == [expected, "Glaze"], "\(raw)")
      #expect(f.title == "Kiln")
    }
  }

  @Test func outOfRangeAndMalformedNumbersDoNotLoseTheFeed() throws {
    for number in ["1e999999", "-1e400", "NaN", "Infinity", "-Infinity", "01", "+5", ".5"] {
      let f = try parse(Self.feed(title: #""Pot""#, extra: #""_count": \#(number),"#))
      #expect(f.entries.count == 2, "\(number)")
      #expect(f.bozo, "\(number)")
    }
    // A bad number where a value is read: the item stays, the value goes.
    let doc = Array(
      """
      {"version": "https://jsonfeed.org/version/1", "items": [
        {"id": 1e999999, "url": "https://kiln.test/1", "title": "Pot"},
        {"id": "2", "url": "https://kiln.test/2", "title": "Glaze",
         "attachments": [{"url": "https://kiln.test/a.mp3", "size_in_bytes": 9e99999}]}]}
      """.utf8)
    let f = try parse(doc)
    #expect(f.entries.map(\.title) == ["Pot", "Glaze"])
    #expect(f.entries[1].enclosures.first?.href == "https://kiln.test/a.mp3")
  }

  @Test func invalidUTF8AndControlCharactersAreRepaired() throws {
    var bytes = Self.feed(title: #""Mug XX""#)
    let at = try #require(bytes.firstRange(of: Array("XX".utf8)))
    bytes.replaceSubrange(at, with: [0xFF, 0x09, 0xC3])
    let f = try parse(bytes)
    #expect(f.entries.map(\.title) == ["Mug \u{FFFD}\t\u{FFFD}", "Glaze"])
    #expect(f.bozo)
  }

  @Test func sloppySyntaxIsRepaired() throws {
    // A trailing comma, an escape JSON lacks, text after the object, a cut-off end.
    let f = try parse(Self.feed(title: #""It\'s",  "#) + Array(" \n<!-- cached -->".utf8))
    #expect(f.entries.map(\.title) == ["It's", "Glaze"])
    let cut = Array(
      #"{"version": "https://jsonfeed.org/version/1", "items": [{"id": "1", "title": "Ca"#.utf8)
    #expect(try parse(cut).entries.map(\.title) == ["Ca"])
  }

  @Test func aValueNestedTooDeeplyBecomesNull() throws {
    // Valid JSON, but past JSONSerialization's 512 levels: the feed was lost whole.
    for (open, close) in [("[", "]"), ("{\"a\":", "}")] {
      let deep =
        String(repeating: open, count: 100_000) + "1" + String(repeating: close, count: 100_000)
      let f = try parse(Self.feed(title: "\"Fired\"", extra: "\"_ext\": \(deep),"))
      #expect(f.title == "Kiln", "\(open)")
      #expect(f.entries.map(\.title) == ["Fired", "Glaze"], "\(open)")
      #expect(f.bozo, "\(open)")
    }
    // 400 levels in a document repaired for another reason (a number past Double) are kept.
    let nested = String(repeating: "[", count: 400) + "7" + String(repeating: "]", count: 400)
    let f = try parse(Self.feed(title: "\"Fired\"", extra: "\"_ext\": \(nested), \"x\": 1e999999,"))
    #expect(f.bozo)
    #expect(f.entries.map(\.title) == ["Fired", "Glaze"])
    let repaired = try #require(
      JSONRepair.repair(Array("{\"a\": \(nested), \"x\": 1e999999}".utf8)))
    #expect(String(decoding: repaired, as: UTF8.self).contains("[[7]]"))
  }

  @Test func wellFormedFeedsAreNotBozo() throws {
    let f = try parse(
      [0xEF, 0xBB, 0xBF] + [0xEF, 0xBB, 0xBF] + Self.feed(title: #""Pot""#))
    #expect(!f.bozo)
    #expect(f.entries.count == 2)
  }

  @Test func notJSONIsStillAClearError() {
    for doc in [
      "{ this is not json", "{}}}", "{\"a\": [1, 2}, garbage garbage", "{'single': 'quotes'}",
    ] {
      #expect(throws: FeedParseError.self, "\(doc)") {
        try FeedParser.parse(Array(doc.utf8), url: nil, contentType: nil)
      }
    }
  }
  /// JSONSerialization takes about 1.3 KB an object: 10 MB of tiny items took 2 GB. The
  /// items array is cut after the items kept before it is read (the rest only counted,
  /// whatever they hold), and a document still too large is refused with a clear error.
  @Test func itemsPastTheLimitAreCutBeforeReading() throws {
    let odd = #"{"id": "x", "tags": ["a,b", "]", {"k": [1, 2]}], "title": "}\"]"}"#
    let items = (0..<1200).map { #"{"id": "\#($0)", "url": "https://kiln.test/\#($0)"}"# }
    let doc =
      #"{"version": "https://jsonfeed.org/version/1.1", "items": ["#
      + items.joined(separator: ",") + ","
      + Array(repeating: odd, count: 300).joined(separator: ",")
      + #"], "title": "After"}"#
    let feed = try parse(Array(doc.utf8))
    #expect(feed.entries.count == FeedParser.maxItems)
    #expect(feed.droppedItems == 1500 - FeedParser.maxItems)
    #expect(feed.entries.last?.link == "https://kiln.test/999")
    #expect(feed.title == "After")
    let trimmed = JSONFeedBounds.trim(Array(doc.utf8), keepItems: FeedParser.maxItems)
    #expect(trimmed.containers == FeedParser.maxItems + 2)
  }

  @Test func tooManyObjectsOutsideTheItemsAreRefused() {
    let junk = Array(repeating: "{}", count: JSONFeedBounds.maxContainers).joined(separator: ",")
    let doc = Array(
      #"{"version": "https://jsonfeed.org/version/1", "junk": [\#(junk)], "items": []}"#.utf8)
    #expect(throws: FeedParseError.self) { try parse(doc) }
    let strings = Array(repeating: #""s""#, count: JSONFeedBounds.maxValues).joined(separator: ",")
    let many = Array(
      #"{"version": "https://jsonfeed.org/version/1", "junk": [\#(strings)], "items": []}"#.utf8)
    #expect(throws: FeedParseError.self) { try parse(many) }
  }
  /// Found by a second review: JSONSerialization reads objects down to depth 512 (not
  /// only the repair's 500), and bare words the repair turns into null are values too.
  @Test func deepObjectsAndBareWordsAreCounted() {
    let deep =
      String(repeating: "[", count: 505) + Array(repeating: "{}", count: 100).joined(separator: ",")
      + String(repeating: "]", count: 505)
    #expect(JSONFeedBounds.trim(Array(deep.utf8), keepItems: 1000).containers == 605)
    let words = "[" + Array(repeating: "x", count: 100).joined(separator: ",") + ",+1, -2]"
    #expect(JSONFeedBounds.trim(Array(words.utf8), keepItems: 1000).values == 103)
  }
}
