import Foundation

/// JSON Feed 1.0 and 1.1 (https://jsonfeed.org/version/1.1).
enum JSONFeedParser {
  static func parse(_ bytes: [UInt8], url: String?) throws(FeedParseError) -> ParsedFeed {
    let trimmed = JSONFeedBounds.trim(bytes, keepItems: FeedParser.maxItems)
    if trimmed.containers > JSONFeedBounds.maxContainers
      || trimmed.values > JSONFeedBounds.maxValues
    {
      throw .notAFeed(
        "JSON too large: more than \(JSONFeedBounds.maxContainers) objects and arrays or \(JSONFeedBounds.maxValues) values besides the first \(FeedParser.maxItems) items"
      )
    }
    let bytes = trimmed.bytes
    // Strict first; one bad value (a lone surrogate escape, a number past Double's range,
    // a byte that is not UTF-8, a raw control character) must not lose every item, so a
    // document JSONSerialization refuses is repaired once and tried again (bozo).
    let object: Any
    var repaired = false
    do {
      object = try JSONSerialization.jsonObject(with: Data(bytes), options: [])
    } catch {
      guard let fixed = JSONRepair.repair(bytes),
        let again = try? JSONSerialization.jsonObject(with: Data(fixed), options: [])
      else { throw .notAFeed("not JSON: \(error.localizedDescription)") }
      object = again
      repaired = true
    }
    guard let top = object as? [String: Any] else { throw .notAFeed("JSON is not an object") }
    let version = top["version"] as? String ?? ""
    guard version.contains("jsonfeed.org/version/") || top["items"] is [Any] else {
      throw .notAFeed("JSON is not a JSON Feed")
    }
    var feed = ParsedFeed()
    feed.droppedItems = trimmed.droppedItems
    feed.bozo = repaired
    feed.bozoMessage = repaired ? "invalid JSON repaired" : nil
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

/// Makes a nearly-JSON document JSON, changing only what JSONSerialization refuses:
///
/// - bytes that are not UTF-8 become U+FFFD;
/// - in strings: a `\u` escape of a surrogate without its other half becomes `\ufffd`,
///   raw control characters are escaped, an unknown escape keeps its character as text;
/// - outside strings: a number that is no JSON number or is out of Double's range
///   (`1e999999`, `01`, `+1`, `NaN`, `Infinity`) becomes `null` unless it reads as a finite
///   number, a comma before `]` or `}` goes, anything after the top-level value goes, and a
///   document cut short is closed;
/// - an object or array nested more than 500 deep becomes `null` (JSONSerialization
///   refuses the whole document past 512).
///
/// Returns nil when there is nothing to repair: the document is not JSON at all, or not
/// an object at the top.
enum JSONRepair {
  static func repair(_ input: [UInt8]) -> [UInt8]? {
    let b = validUTF8(input)
    var out: [UInt8] = []
    out.reserveCapacity(b.count + 64)
    var stack: [UInt8] = []  // open '{' and '['
    var i = 0
    let n = b.count
    while i < n, b[i] == 0x20 || b[i] == 0x09 || b[i] == 0x0A || b[i] == 0x0D { i += 1 }
    guard i < n, b[i] == 0x7B else { return nil }
    var inString = false
    var done = false
    while i < n && !done {
      let c = b[i]
      if inString {
        switch c {
        case 0x22:
          out.append(c)
          inString = false
          i += 1
        case 0x5C:
          i = escape(b, i, into: &out)
        case 0x00..<0x20:
          out.append(contentsOf: Array(String(format: "\\u%04x", Int(c)).utf8))
          i += 1
        default:
          out.append(c)
          i += 1
        }
        continue
      }
      switch c {
      case 0x22:
        inString = true
        out.append(c)
        i += 1
      case 0x7B, 0x5B:
        if stack.count >= maxDepth {
          // Deeper than JSONSerialization reads (512): this value becomes null.
          out.append(contentsOf: Array("null".utf8))
          i = skipValue(b, from: i)
          continue
        }
        stack.append(c)
        out.append(c)
        i += 1
      case 0x7D, 0x5D:
        dropTrailingComma(&out)
        guard let open = stack.popLast() else { return nil }
        out.append(open == 0x7B ? 0x7D : 0x5D)  // a mismatched close closes what is open
        i += 1
        if stack.isEmpty { done = true }
      case 0x2D, 0x2B, 0x2E, 0x30...0x39, 0x41...0x5A, 0x61...0x7A:
        var k = i
        while k < n,
          b[k] == 0x2D || b[k] == 0x2B || b[k] == 0x2E || (b[k] >= 0x30 && b[k] <= 0x39)
            || (b[k] | 0x20 >= 0x61 && b[k] | 0x20 <= 0x7A)
        {
          k += 1
        }
        out.append(contentsOf: literal(String(decoding: b[i..<k], as: UTF8.self)).utf8)
        i = k
      default:
        out.append(c)
        i += 1
      }
    }
    guard !stack.isEmpty || done else { return nil }
    // Cut short: close the string, drop a dangling comma or key, close what is open.
    if inString { out.append(0x22) }
    while let last = stack.popLast() {
      trimSpace(&out)
      if out.last == 0x3A { out.append(contentsOf: Array("null".utf8)) }
      dropTrailingComma(&out)
      out.append(last == 0x7B ? 0x7D : 0x5D)
    }
    return out
  }

  /// Objects and arrays nested deeper than this become null (JSONSerialization reads
  /// 512 levels).
  static let maxDepth = 500

  /// The index after the object or array that opens at `b[from]` (strings stepped over;
  /// the end of the input if it never closes).
  static func skipValue(_ b: [UInt8], from: Int) -> Int {
    var depth = 0
    var i = from
    while i < b.count {
      let c = b[i]
      if c == 0x22 {
        i = JSONFeedBounds.stringEnd(b, from: i)
        continue
      } else if c == 0x7B || c == 0x5B {
        depth += 1
      } else if c == 0x7D || c == 0x5D {
        depth -= 1
        if depth == 0 { return i + 1 }
      }
      i += 1
    }
    return b.count
  }

  /// One escape at `b[i]` (the backslash), written to `out`; returns the index after it.
  static func escape(_ b: [UInt8], _ i: Int, into out: inout [UInt8]) -> Int {
    guard i + 1 < b.count else {
      out.append(contentsOf: [0x5C, 0x5C])
      return i + 1
    }
    let e = b[i + 1]
    switch e {
    case 0x22, 0x5C, 0x2F, 0x62, 0x66, 0x6E, 0x72, 0x74:
      out.append(contentsOf: [0x5C, e])
      return i + 2
    case 0x75:
      guard let u = hex4(b, i + 2) else {
        out.append(contentsOf: [0x5C, 0x5C])  // "\u" without four digits: text
        return i + 1
      }
      if u >= 0xD800 && u <= 0xDBFF {
        if i + 7 < b.count, b[i + 6] == 0x5C, b[i + 7] == 0x75, let low = hex4(b, i + 8),
          low >= 0xDC00 && low <= 0xDFFF
        {
          out.append(contentsOf: b[i..<i + 12])
          return i + 12
        }
        out.append(contentsOf: Array("\\ufffd".utf8))
        return i + 6
      }
      if u >= 0xDC00 && u <= 0xDFFF {
        out.append(contentsOf: Array("\\ufffd".utf8))
        return i + 6
      }
      out.append(contentsOf: b[i..<i + 6])
      return i + 6
    default:
      // An escape JSON does not have (`\'`, `\x`): the character as it is.
      return i + 1
    }
  }

  static func hex4(_ b: [UInt8], _ s: Int) -> UInt32? {
    guard s + 4 <= b.count else { return nil }
    var v: UInt32 = 0
    for k in s..<s + 4 {
      let c = b[k] | 0x20
      let d: UInt32
      if b[k] >= 0x30 && b[k] <= 0x39 {
        d = UInt32(b[k] - 0x30)
      } else if c >= 0x61 && c <= 0x66 {
        d = UInt32(c - 0x61 + 10)
      } else {
        return nil
      }
      v = v << 4 | d
    }
    return v
  }

  /// A bare word or number outside strings, as JSON.
  static func literal(_ t: String) -> String {
    switch t {
    case "true", "false", "null": return t
    default: break
    }
    if isJSONNumber(t), let d = Double(t), d.isFinite { return t }
    if let d = Double(t), d.isFinite, !t.lowercased().contains("n") {
      // "+1", "01", ".5", "1.": the number it plainly means.
      return d == d.rounded() && abs(d) < 1e15 ? String(Int64(d)) : String(d)
    }
    return "null"
  }

  static func isJSONNumber(_ t: String) -> Bool {
    var s = Substring(t)
    if s.first == "-" { s = s.dropFirst() }
    guard let f = s.first, f.isASCII, f.isNumber else { return false }
    if f == "0", s.count > 1, let second = s.dropFirst().first, second.isNumber { return false }
    s = s.drop(while: { $0.isASCII && $0.isNumber })
    if s.first == "." {
      s = s.dropFirst()
      guard let d = s.first, d.isASCII, d.isNumber else { return false }
      s = s.drop(while: { $0.isASCII && $0.isNumber })
    }
    if s.first == "e" || s.first == "E" {
      s = s.dropFirst()
      if s.first == "+" || s.first == "-" { s = s.dropFirst() }
      guard let d = s.first, d.isASCII, d.isNumber else { return false }
      s = s.drop(while: { $0.isASCII && $0.isNumber })
    }
    return s.isEmpty
  }

  static func trimSpace(_ out: inout [UInt8]) {
    while let l = out.last, l == 0x20 || l == 0x09 || l == 0x0A || l == 0x0D { out.removeLast() }
  }

  static func dropTrailingComma(_ out: inout [UInt8]) {
    var k = out.count
    while k > 0,
      out[k - 1] == 0x20 || out[k - 1] == 0x09 || out[k - 1] == 0x0A || out[k - 1] == 0x0D
    {
      k -= 1
    }
    if k > 0, out[k - 1] == 0x2C { out.remove(at: k - 1) }
  }

  /// The bytes with every byte that starts no valid UTF-8 sequence replaced by U+FFFD.
  static func validUTF8(_ b: [UInt8]) -> [UInt8] {
    Array(String(decoding: b, as: UTF8.self).utf8)
  }
}
