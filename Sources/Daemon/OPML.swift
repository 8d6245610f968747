import Foundation
import XML

/// One feed read from an OPML file.
public struct OPMLFeed: Sendable, Equatable {
  /// The `xmlUrl`, trimmed (`feed://` and `feed:` prefixes turned into http(s)).
  public var url: String
  /// `title`, else `text`; nil when both are missing or empty.
  public var title: String?
  /// `htmlUrl`, the site's home page.
  public var htmlURL: String?
  /// The enclosing folders (outermost first), then the `category` attribute's parts.
  public var topics: [String]

  public init(url: String, title: String? = nil, htmlURL: String? = nil, topics: [String] = []) {
    self.url = url
    self.title = title
    self.htmlURL = htmlURL
    self.topics = topics
  }
}

public enum OPMLError: Error, Sendable, Equatable, CustomStringConvertible {
  /// Not XML at all.
  case unparseable(String)
  /// XML, but its root element is not `<opml>`.
  case notOPML(root: String)

  public var description: String {
    switch self {
    case .unparseable(let m): "not an OPML file: \(m)"
    case .notOPML(let root): "not an OPML file: the root element is <\(root)>, not <opml>"
    }
  }
}

/// Reading and writing feed lists as OPML, the format other readers import and export.
///
/// Reading (OPML 1.0 and 2.0, as Feedly, Inoreader, Miniflux, NetNewsWire, FreshRSS and
/// others write it): an `<outline>` with an `xmlUrl` is a feed; one without is a folder.
/// Attribute names are matched without regard to case (`xmlURL`, `htmlURL` occur), `type`
/// is not required. A feed's topics are the titles of every folder around it, outermost
/// first, then each part of its `category` attribute: OPML 2.0 makes that a comma-separated
/// list of slash paths (`/Tech/AI,News`), and every component of every path becomes a topic
/// (`Tech`, `AI`, `News`), the same as nested folders `Tech` > `AI` would give. Topics are
/// deduplicated keeping their first place. A feed listed in several folders (Feedly does
/// that) is returned once, with the topics of all its places.
///
/// Writing (OPML 2.0): one folder outline per feed's first topic, in the order they first
/// appear, holding `<outline type="rss" text title xmlUrl category>` for its feeds; feeds
/// without topics come after the folders, at the top level. One level of folders is what
/// every reader above imports; the `category` attribute carries all the topics (those
/// without a comma or slash, which it cannot hold) for readers that read it, and makes the
/// round trip through `parse` exact.
public enum OPML {
  public static func parse(_ bytes: [UInt8]) throws(OPMLError) -> [OPMLFeed] {
    guard !bytes.isEmpty else { throw .unparseable("the file is empty") }
    var doc: XMLDocument
    do {
      doc = try XMLDocument.parseXML(bytes)
      // Hand-made and some exported files carry a bare `&` in URLs and titles, which the
      // recovering parser would drop with what follows; escape those and read again.
      if !doc.wellFormed, let fixed = escapingBareAmpersands(bytes) {
        let second = try XMLDocument.parseXML(fixed)
        if second.root != nil { doc = second }
      }
    } catch {
      switch error {
      case .unparseable(let m): throw .unparseable(m)
      case .outOfMemory: throw .unparseable("out of memory")
      }
    }
    guard let root = doc.root else { throw .unparseable(doc.firstError ?? "no root element") }
    guard root.name.lowercased() == "opml" else { throw .notOPML(root: root.name) }
    var reader = Reader()
    for child in root.elements where child.name.lowercased() == "body" {
      reader.walk(child, folders: [], depth: 0)
    }
    return reader.feeds
  }

  struct Reader {
    var feeds: [OPMLFeed] = []
    var index: [String: Int] = [:]

    /// libxml2 limits the depth of the tree itself; this bound only keeps the recursion
    /// shallow whatever the parser lets through.
    static let maxDepth = 64

    mutating func walk(_ node: XMLNode, folders: [String], depth: Int) {
      guard depth < Self.maxDepth else { return }
      for outline in node.elements where outline.name.lowercased() == "outline" {
        var attrs: [String: String] = [:]
        for a in outline.attributes where a.namespace == nil {
          let key = a.name.lowercased()
          if attrs[key] == nil { attrs[key] = a.value }
        }
        let text = nonEmpty(attrs["text"])
        let title = nonEmpty(attrs["title"])
        if let xmlURL = nonEmpty(attrs["xmlurl"]) {
          var topics = folders
          if let category = attrs["category"] { topics += OPML.categoryTopics(category) }
          add(
            OPMLFeed(
              url: OPML.normalizedFeedURL(xmlURL), title: title ?? text,
              htmlURL: nonEmpty(attrs["htmlurl"]), topics: topics))
          // A feed with children is odd; its children keep the folders around it.
          walk(outline, folders: folders, depth: depth + 1)
        } else {
          let name = text ?? title
          walk(outline, folders: name.map { folders + [$0] } ?? folders, depth: depth + 1)
        }
      }
    }

    mutating func add(_ feed: OPMLFeed) {
      var feed = feed
      feed.topics = OPML.unique(feed.topics)
      if let i = index[feed.url] {
        feeds[i].topics = OPML.unique(feeds[i].topics + feed.topics)
        if feeds[i].title == nil { feeds[i].title = feed.title }
        if feeds[i].htmlURL == nil { feeds[i].htmlURL = feed.htmlURL }
      } else {
        index[feed.url] = feeds.count
        feeds.append(feed)
      }
    }

    func nonEmpty(_ s: String?) -> String? {
      guard let t = s?.trimmingCharacters(in: .whitespacesAndNewlines), !t.isEmpty else {
        return nil
      }
      return t
    }
  }

  /// The bytes with every `&` that does not start an entity or character reference
  /// written as `&amp;`; nil when there is none.
  static func escapingBareAmpersands(_ bytes: [UInt8]) -> [UInt8]? {
    func isReference(at i: Int) -> Bool {
      var j = i + 1
      let hex =
        j + 1 < bytes.count && bytes[j] == UInt8(ascii: "#")
        && (bytes[j + 1] | 0x20) == UInt8(ascii: "x")
      let decimal = !hex && j < bytes.count && bytes[j] == UInt8(ascii: "#")
      if hex { j += 2 } else if decimal { j += 1 }
      let start = j
      while j < bytes.count, j - start < 32 {
        let c = bytes[j]
        let lower = c | 0x20
        let digit = c >= 0x30 && c <= 0x39
        let letter = lower >= 0x61 && lower <= 0x7A
        let ok =
          hex
          ? digit || (lower >= 0x61 && lower <= 0x66)
          : decimal
            ? digit : letter || (j > start && (digit || c == 0x2D || c == 0x2E || c == 0x5F))
        if !ok { break }
        j += 1
      }
      return j > start && j < bytes.count && bytes[j] == UInt8(ascii: ";")
    }
    var out: [UInt8] = []
    var changed = false
    out.reserveCapacity(bytes.count + 64)
    for (i, b) in bytes.enumerated() {
      out.append(b)
      if b == UInt8(ascii: "&") && !isReference(at: i) {
        out += Array("amp;".utf8)
        changed = true
      }
    }
    return changed ? out : nil
  }

  /// `/Tech/AI,News` -> `Tech`, `AI`, `News`.
  static func categoryTopics(_ attribute: String) -> [String] {
    attribute.split(separator: ",").flatMap { path in
      path.split(separator: "/").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
    }.filter { !$0.isEmpty }
  }

  static func unique(_ topics: [String]) -> [String] {
    var seen = Set<String>()
    return topics.filter { seen.insert($0).inserted }
  }

  /// `feed://host/x` -> `http://host/x`; `feed:https://host/x` -> `https://host/x`.
  static func normalizedFeedURL(_ url: String) -> String {
    let lower = url.lowercased()
    if lower.hasPrefix("feed://") { return "http://" + url.dropFirst(7) }
    if lower.hasPrefix("feed:http://") || lower.hasPrefix("feed:https://") {
      return String(url.dropFirst(5))
    }
    return url
  }

  public static func export(_ feeds: [Config.FeedConfig], title: String) -> String {
    var out = """
      <?xml version="1.0" encoding="UTF-8"?>
      <opml version="2.0">
        <head>
          <title>\(escape(title))</title>
        </head>
        <body>

      """
    var folders: [String] = []
    var members: [String: [Config.FeedConfig]] = [:]
    var loose: [Config.FeedConfig] = []
    for f in feeds {
      guard let first = f.topics.first else {
        loose.append(f)
        continue
      }
      if members[first] == nil { folders.append(first) }
      members[first, default: []].append(f)
    }
    for folder in folders {
      out += "    <outline text=\"\(escape(folder))\" title=\"\(escape(folder))\">\n"
      for f in members[folder] ?? [] { out += "      " + outline(f) + "\n" }
      out += "    </outline>\n"
    }
    for f in loose { out += "    " + outline(f) + "\n" }
    out += "  </body>\n</opml>\n"
    return out
  }

  static func outline(_ f: Config.FeedConfig) -> String {
    let name = escape(f.title ?? f.url)
    var s = "<outline type=\"rss\" text=\"\(name)\" title=\"\(name)\" xmlUrl=\"\(escape(f.url))\""
    let category = unique(f.topics).filter { !$0.contains(",") && !$0.contains("/") }
    if !category.isEmpty { s += " category=\"\(escape(category.joined(separator: ",")))\"" }
    return s + "/>"
  }

  /// Text for an attribute or element: markup characters as entities, whitespace that an
  /// attribute would fold as character references, characters XML 1.0 forbids dropped.
  static func escape(_ s: String) -> String {
    var out = ""
    out.reserveCapacity(s.utf8.count)
    for c in s.unicodeScalars {
      switch c {
      case "&": out += "&amp;"
      case "<": out += "&lt;"
      case ">": out += "&gt;"
      case "\"": out += "&quot;"
      case "'": out += "&apos;"
      case "\n": out += "&#10;"
      case "\r": out += "&#13;"
      case "\t": out += "&#9;"
      default:
        let v = c.value
        if v < 0x20 || v == 0xFFFE || v == 0xFFFF { continue }
        out.unicodeScalars.append(c)
      }
    }
    return out
  }
}
