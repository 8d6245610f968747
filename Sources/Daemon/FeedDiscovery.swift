import Extract
import Foundation
import XML

/// A feed a page points to with `<link rel="alternate" type=... href=...>`.
public struct DiscoveredFeed: Sendable, Equatable {
  public enum Format: String, Sendable, Equatable {
    case atom, rss, rdf, json
  }
  /// Absolute, resolved against the page URL and its `<base href>`.
  public var url: String
  public var title: String?
  public var format: Format

  public init(url: String, title: String? = nil, format: Format) {
    self.url = url
    self.title = title
    self.format = format
  }
}

/// Finds the feed behind a URL someone pasted: the URL itself, a feed its page links to,
/// or a feed at one of the usual paths of its site (`feedspool add https://example.org/`).
public enum FeedDiscovery {
  /// What `resolve` needs from a fetch: status, Content-Type, body, and the URL after
  /// redirects (relative links on the page are resolved against it). Nil: no answer.
  /// Only the URL given to `resolve` is the operator's; the others come from its page, so
  /// a closure over `Fetcher` should mark only that one `trusted`.
  public typealias Fetch =
    @Sendable (String) async -> (
      status: Int, contentType: String?, body: [UInt8], finalURL: String
    )?

  /// Where blog engines and site generators put their feed (WordPress, Substack and Medium
  /// `/feed`, Tumblr `/rss`, Jekyll `/feed.xml`, Hugo `/index.xml`, Ghost `/rss/`, Blogger
  /// `/feeds/posts/default`, ...), most common first.
  public static let commonPaths = [
    "/feed", "/rss", "/feed.xml", "/rss.xml", "/atom.xml", "/index.xml", "/feed/", "/rss/",
    "/atom", "/feeds/posts/default", "/index.rss", "/feed.json", "/?feed=rss2",
  ]

  /// Paths tried under the page's own directory first, when that is not the site root
  /// (`https://example.org/blog/` -> `/blog/feed`, ...).
  static let directoryPaths = ["feed", "rss", "index.xml", "feed.xml", "atom.xml"]

  /// At most this many `<link>` feeds are fetched by `resolve`.
  static let maxLinkedCandidates = 8

  /// The feeds an HTML page links to, best first: the site's own feeds before comment
  /// feeds, Atom and RSS before RSS 1.0 and JSON Feed, then in the page's order. A `type`
  /// of plain `application/json` counts only when its title or URL says "feed" (WordPress
  /// pages also link their REST API as `application/json` alternates).
  /// The page's encoding is chosen as the extractor chooses it (BOM, `contentType`'s
  /// charset, `<meta charset>`, else UTF-8 or windows-1252).
  public static func discover(html: [UInt8], pageURL: String, contentType: String? = nil)
    -> [DiscoveredFeed]
  {
    let choice = Charset.detect(html, contentType: contentType)
    let input = choice.skip > 0 ? Array(html[choice.skip...]) : html
    guard !input.isEmpty,
      let doc = (try? XMLDocument.parseHTML(input, url: pageURL, encoding: choice.encoding))
        ?? (try? XMLDocument.parseHTML(input, url: pageURL)),
      let root = doc.root
    else {
      return []
    }
    var base = pageURL
    var links: [XMLNode] = []
    var sawBase = false
    if root.name == "link" { links.append(root) }
    root.walkElements { e in
      switch e.name {
      case "base":
        if !sawBase, let href = e.attribute("href")?.trimmingCharacters(in: .whitespaces),
          !href.isEmpty
        {
          sawBase = true
          let resolved = XMLDocument.resolveURI(href, base: pageURL)
          if isHTTP(resolved) { base = resolved }
        }
      case "link": links.append(e)
      default: break
      }
      return true
    }
    var found: [(feed: DiscoveredFeed, rank: Int, order: Int)] = []
    var seen = Set<String>()
    for link in links {
      let rels = (link.attribute("rel") ?? "").lowercased().split(whereSeparator: \.isWhitespace)
      guard rels.contains("alternate") || rels.contains("feed") else { continue }
      let type =
        (link.attribute("type") ?? "").lowercased().split(separator: ";").first
        .map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
      guard let href = link.attribute("href")?.trimmingCharacters(in: .whitespacesAndNewlines),
        !href.isEmpty
      else { continue }
      let title = link.attribute("title")?.trimmingCharacters(in: .whitespacesAndNewlines)
      let hint = ((title ?? "") + " " + href).lowercased()
      let format: DiscoveredFeed.Format
      var rank: Int
      switch type {
      case "application/atom+xml": (format, rank) = (.atom, 0)
      case "application/rss+xml", "application/x-rss+xml": (format, rank) = (.rss, 0)
      case "application/rdf+xml": (format, rank) = (.rdf, 1)
      case "application/feed+json": (format, rank) = (.json, 1)
      case "application/json":
        guard hint.contains("feed"), !hint.contains("wp-json"), !hint.contains("oembed") else {
          continue
        }
        (format, rank) = (.json, 2)
      default: continue
      }
      if hint.contains("comments") { rank += 10 }
      let url = XMLDocument.resolveURI(href, base: base)
      guard isHTTP(url), seen.insert(url).inserted else { continue }
      found.append(
        (
          DiscoveredFeed(url: url, title: title?.isEmpty == false ? title : nil, format: format),
          rank, found.count
        ))
    }
    return found.sorted { ($0.rank, $0.order) < ($1.rank, $1.order) }.map(\.feed)
  }

  static func isHTTP(_ url: String) -> Bool {
    let l = url.prefix(8).lowercased()
    return l.hasPrefix("http://") || l.hasPrefix("https://")
  }

  /// Whether a body is a feed document, by its first markup: an `<rss>`, `<feed>` (Atom) or
  /// `<rdf:RDF>` root after a byte order mark, whitespace, the XML declaration, processing
  /// instructions (a stylesheet), comments and a DOCTYPE; or a JSON object whose `version`
  /// is a `https://jsonfeed.org/version/...` URL. UTF-16 documents are read too.
  public static func looksLikeFeed(_ bytes: [UInt8]) -> Bool {
    var b = Array(bytes.prefix(1 << 16))
    if b.starts(with: [0xFF, 0xFE]) || b.starts(with: [0xFE, 0xFF])
      || (b.count > 1 && (b[0] == 0 || b[1] == 0))
    {
      // UTF-16: the markup that matters is ASCII; dropping the zero bytes leaves it.
      b = b.filter { $0 != 0 && $0 != 0xFF && $0 != 0xFE }
    }
    var i = 0
    if b.starts(with: [0xEF, 0xBB, 0xBF]) { i = 3 }
    func at(_ s: String) -> Bool {
      let u = Array(s.utf8)
      return b.count - i >= u.count && b[i..<i + u.count].elementsEqual(u)
    }
    func skip(past end: String) -> Bool {
      let u = Array(end.utf8)
      var j = i
      while j + u.count <= b.count {
        if b[j..<j + u.count].elementsEqual(u) {
          i = j + u.count
          return true
        }
        j += 1
      }
      return false
    }
    while i < b.count {
      let c = b[i]
      if c == 0x20 || c == 0x09 || c == 0x0A || c == 0x0D {
        i += 1
      } else if at("<?") {
        guard skip(past: "?>") else { return false }
      } else if at("<!--") {
        guard skip(past: "-->") else { return false }
      } else if at("<!") {
        // DOCTYPE, perhaps with an internal subset in brackets.
        var depth = 0
        while i < b.count {
          if b[i] == UInt8(ascii: "[") { depth += 1 }
          if b[i] == UInt8(ascii: "]") { depth -= 1 }
          i += 1
          if b[i - 1] == UInt8(ascii: ">") && depth <= 0 { break }
        }
      } else if c == UInt8(ascii: "<") {
        var j = i + 1
        var name: [UInt8] = []
        while j < b.count, name.count < 64 {
          let ch = b[j]
          if ch == 0x20 || ch == 0x09 || ch == 0x0A || ch == 0x0D || ch == UInt8(ascii: ">")
            || ch == UInt8(ascii: "/")
          {
            break
          }
          name.append(ch | (ch >= 0x41 && ch <= 0x5A ? 0x20 : 0))
          j += 1
        }
        let local = name.split(separator: UInt8(ascii: ":")).last.map(Array.init) ?? name
        return local == Array("rss".utf8) || local == Array("feed".utf8)
          || local == Array("rdf".utf8)
      } else if c == UInt8(ascii: "{") {
        return isJSONFeed(bytes)
      } else {
        return false
      }
    }
    return false
  }

  /// A `"version"` key whose value starts with the JSON Feed version URL.
  static func isJSONFeed(_ bytes: [UInt8]) -> Bool {
    let key = Array("\"version\"".utf8)
    let prefixes = [
      Array("\"https://jsonfeed.org/version/".utf8), Array("\"http://jsonfeed.org/version/".utf8),
    ]
    var i = 0
    while i + key.count <= bytes.count {
      guard bytes[i] == key[0], bytes[i..<i + key.count].elementsEqual(key) else {
        i += 1
        continue
      }
      var j = i + key.count
      while j < bytes.count,
        bytes[j] == 0x20 || bytes[j] == 0x09 || bytes[j] == 0x0A || bytes[j] == 0x0D
      { j += 1 }
      if j < bytes.count, bytes[j] == UInt8(ascii: ":") {
        j += 1
        while j < bytes.count,
          bytes[j] == 0x20 || bytes[j] == 0x09 || bytes[j] == 0x0A || bytes[j] == 0x0D
        { j += 1 }
        for p in prefixes
        where bytes.count - j >= p.count && bytes[j..<j + p.count].elementsEqual(p) {
          return true
        }
      }
      i += key.count
    }
    return false
  }

  /// The feed URL for what the user gave: `url` itself when it answers with a feed; else
  /// the first feed its page links to (`discover`) that answers with a feed; else the first
  /// of the usual paths (under the page's directory, then `commonPaths` at the site's root,
  /// after redirects) that does. Nil when none does. At most about 25 fetches, one at a time.
  public static func resolve(_ url: String, fetch: Fetch) async -> String? {
    func isFeed(_ r: (status: Int, contentType: String?, body: [UInt8], finalURL: String)?)
      -> Bool
    {
      guard let r else { return false }
      return (200..<300).contains(r.status) && looksLikeFeed(r.body)
    }
    var tried: Set<String> = [url]
    let page = await fetch(url)
    if isFeed(page) { return url }
    var site = url
    if let page {
      site = page.finalURL
      if (200..<300).contains(page.status) {
        let linked = discover(
          html: page.body, pageURL: page.finalURL, contentType: page.contentType)
        for feed in linked.prefix(maxLinkedCandidates) where tried.insert(feed.url).inserted {
          if Task.isCancelled { return nil }
          if isFeed(await fetch(feed.url)) { return feed.url }
        }
      }
    }
    for candidate in guesses(for: site) where tried.insert(candidate).inserted {
      if Task.isCancelled { return nil }
      if isFeed(await fetch(candidate)) { return candidate }
    }
    return nil
  }

  /// The usual feed places for a page: under its directory (when not the root), then at
  /// its origin.
  static func guesses(for page: String) -> [String] {
    guard isHTTP(page), let schemeEnd = page.range(of: "://") else { return [] }
    let afterScheme = page[schemeEnd.upperBound...]
    let hostEnd = afterScheme.firstIndex(where: { $0 == "/" || $0 == "?" || $0 == "#" })
    let origin = String(page[..<(hostEnd ?? page.endIndex)])
    var out: [String] = []
    if let hostEnd {
      var path = page[hostEnd...]
      if let q = path.firstIndex(where: { $0 == "?" || $0 == "#" }) { path = path[..<q] }
      if let slash = path.lastIndex(of: "/") {
        let dir = path[...slash]
        if dir != "/" { out += directoryPaths.map { origin + dir + $0 } }
      }
    }
    out += commonPaths.map { origin + $0 }
    return out
  }
}
