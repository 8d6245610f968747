import Foundation

/// JSON Feed 1.0 and 1.1 (https://jsonfeed.org/version/1.1).
enum JSONFeedParser {
  static func parse(_ bytes: [UInt8], url: String?) throws(FeedParseError) -> ParsedFeed {
    let object: Any
    do {
      object = try JSONSerialization.jsonObject(with: Data(bytes), options: [])
    } catch {
      throw .notAFeed("not JSON: \(error.localizedDescription)")
    }
    guard let top = object as? [String: Any] else { throw .notAFeed("JSON is not an object") }
    let version = top["version"] as? String ?? ""
    guard version.contains("jsonfeed.org/version/") || top["items"] is [Any] else {
      throw .notAFeed("JSON is not a JSON Feed")
    }
    var feed = ParsedFeed()
    feed.format = version.hasSuffix("/1.1") ? .json11 : .json10
    let base = url
    feed.title = top["title"] as? String
    feed.link = (top["home_page_url"] as? String).map { FeedURL.resolve($0, base: base) }
    feed.subtitle = top["description"] as? String
    feed.language = top["language"] as? String
    feed.image = (top["icon"] as? String ?? top["favicon"] as? String).map {
      FeedURL.resolve($0, base: base)
    }
    let feedAuthor = author(top)
    for case let obj as [String: Any] in top["items"] as? [Any] ?? [] {
      var item = FeedItem()
      item.baseURL = base
      if let id = obj["id"] as? String {
        item.id = id
      } else if let n = obj["id"] as? NSNumber {
        item.id = n.stringValue
      }
      item.link = (obj["url"] as? String).map { FeedURL.resolve($0, base: base) }
      item.title = obj["title"] as? String
      if let html = obj["content_html"] as? String {
        item.content = HTMLSanitizer.sanitize(html, base: item.link ?? base)
      } else if let text = obj["content_text"] as? String {
        item.content = XMLFeedParser.escape(text)
      }
      item.summary = obj["summary"] as? String ?? item.content
      item.published = (obj["date_published"] as? String).flatMap(FeedDate.parse)
      item.updated = (obj["date_modified"] as? String).flatMap(FeedDate.parse)
      item.author = author(obj) ?? feedAuthor
      item.tags = (obj["tags"] as? [Any] ?? []).compactMap { $0 as? String }
      for case let a as [String: Any] in obj["attachments"] as? [Any] ?? [] {
        guard let u = a["url"] as? String, !u.isEmpty else { continue }
        var length: String?
        if let n = a["size_in_bytes"] as? NSNumber { length = n.stringValue }
        item.enclosures.append(
          .init(
            href: FeedURL.resolve(u, base: base), type: a["mime_type"] as? String, length: length))
      }
      if let image = obj["image"] as? String {
        item.thumbnails.append(.init(url: FeedURL.resolve(image, base: base)))
      }
      feed.entries.append(item)
    }
    return feed
  }

  static func author(_ obj: [String: Any]) -> String? {
    if let a = obj["author"] as? [String: Any], let n = a["name"] as? String { return n }
    if let list = obj["authors"] as? [Any] {
      for case let a as [String: Any] in list { if let n = a["name"] as? String { return n } }
    }
    return nil
  }
}
