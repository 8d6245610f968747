import Foundation
import XML

/// The namespaces feeds use, folded to one key each. The RSS and Atom namespaces (and
/// none) are all `.core`: feeds mix them freely and element names do not clash.
enum FeedNamespace: UInt8 {
  case core, dc, dcterms, content, media, itunes, xhtml, sy, rdf, other

  static func of(_ uri: String?) -> FeedNamespace {
    guard let uri, !uri.isEmpty else { return .core }
    switch uri {
    case "http://www.w3.org/2005/Atom", "http://purl.org/atom/ns#", "http://purl.org/rss/1.0/",
      "http://my.netscape.com/rdf/simple/0.9/", "http://backend.userland.com/rss2",
      "http://blogs.law.harvard.edu/tech/rss", "http://backend.userland.com/rss",
      "http://purl.org/net/rss1.1#", "http://www.w3.org/2007/app":
      return .core
    case "http://purl.org/dc/elements/1.1/", "http://purl.org/dc/elements/1.0/": return .dc
    case "http://purl.org/dc/terms/": return .dcterms
    case "http://purl.org/rss/1.0/modules/content/": return .content
    case "http://search.yahoo.com/mrss/", "http://search.yahoo.com/mrss",
      "http://tools.search.yahoo.com/mrss/":
      return .media
    case "http://www.w3.org/1999/xhtml": return .xhtml
    case "http://purl.org/rss/1.0/modules/syndication/": return .sy
    case "http://www.w3.org/1999/02/22-rdf-syntax-ns#": return .rdf
    default:
      let l = uri.lowercased()
      if l.hasSuffix("podcast-1.0.dtd") || l.hasPrefix("http://www.itunes.com/dtds/") {
        return .itunes
      }
      return .other
    }
  }

  /// For a prefix used without a declaration (bozo documents).
  static func ofPrefix(_ p: String) -> FeedNamespace {
    switch p.lowercased() {
    case "dc": return .dc
    case "dcterms": return .dcterms
    case "content": return .content
    case "media": return .media
    case "itunes": return .itunes
    case "xhtml": return .xhtml
    case "sy": return .sy
    case "rdf": return .rdf
    case "atom", "atom10", "atom03": return .core
    default: return .other
    }
  }
}

/// What an element inside an item is, decided once per distinct name and namespace.
enum ItemTag: Sendable {
  case title, mediaTitle, mediaDescription, mediaCategory, tags, dcTitle, link, guid, id,
    description, summary, dcDescription, itunesSummary, contentEncoded, content, body, published,
    created, dcDate, updated, author, creator, itunesAuthor, category, dcSubject, itunesCategory,
    itunesKeywords, enclosure, mediaContent, mediaThumbnail, mediaGroup, other
}

/// How an element's content becomes an HTML string.
enum TextKind {
  /// RSS titles: plain text unless it looks like HTML.
  case guess
  /// RSS descriptions, content:encoded: HTML.
  case html
  /// Atom text constructs: `type` (and Atom 0.3's `mode`) say.
  case atom
  /// XHTML children (xhtml:body).
  case xhtml
}

/// RSS 0.9x/1.0/2.0, Atom 0.3/1.0 and CDF: one walker over the libxml2 tree, since
/// these formats share element names and real feeds mix them. Each field's source
/// elements are listed in `feedElement` and `itemElement`.
final class XMLFeedParser {
  let document: XMLDocument
  var feed = ParsedFeed()
  /// The root element's namespace: whatever it is (a draft Atom namespace, say), the
  /// feed's own elements live there.
  var rootNamespace: String?
  /// FeedNamespace per libxml2 namespace declaration (with its URI, to check a hit), so
  /// that URIs are classified once.
  var namespaceCache = IntTable<([UInt8], FeedNamespace)>()
  /// Lowercased local names by their address in the parser's dictionary.
  var nameCache = IntTable<String>()
  /// `key` of elements without a namespace, by the address of their name.
  var plainKeyCache = IntTable<(FeedNamespace, String)>()
  /// `itemTag` by interned name and namespace.
  var tagCache = IntTable<ItemTag>()

  init(document: XMLDocument) { self.document = document }

  static func parse(_ document: XMLDocument) throws(FeedParseError) -> ParsedFeed {
    guard let root = document.root else { throw .notAFeed("empty document") }
    let p = XMLFeedParser(document: document)
    let rootName = root.name.lowercased()
    let ns = root.namespaceURI
    p.rootNamespace = ns
    var channel: XMLNode?
    var items: [XMLNode] = []
    switch rootName {
    case "rss", "rdf:rdf", "rdf", "redirect":
      if rootName == "rss" {
        switch root.attribute("version") ?? "" {
        case "0.91": p.feed.format = .rss091
        case "0.92": p.feed.format = .rss092
        case "0.93": p.feed.format = .rss093
        case "0.94": p.feed.format = .rss094
        default: p.feed.format = .rss20
        }
      } else {
        p.feed.format = .rss10
      }
      root.forEachElement { el in
        let n = el.name.lowercased()
        if n == "channel" {
          if channel == nil { channel = el }
          if el.namespaceURI == "http://my.netscape.com/rdf/simple/0.9/" { p.feed.format = .rss090 }
          el.forEachElement { c in if c.name.lowercased() == "item" { items.append(c) } }
        } else if n == "item" {
          items.append(el)
        }
      }
    case "feed":
      if ns == "http://purl.org/atom/ns#" || (ns == nil && root.attribute("version") == "0.3") {
        p.feed.format = .atom03
      } else {
        p.feed.format = .atom10
      }
      channel = root
      root.forEachElement { el in if el.name.lowercased() == "entry" { items.append(el) } }
    case "channel":
      p.feed.format = .cdf
      channel = root
      root.walkElements { el in
        if el.name.lowercased() == "item" {
          items.append(el)
          return false
        }
        return true
      }
    default:
      throw .notAFeed("root element <\(root.name)> is not a feed")
    }
    if let channel {
      p.readFeed(channel)
    }
    p.feed.entries.reserveCapacity(min(items.count, FeedParser.maxItems))
    for item in items.prefix(FeedParser.maxItems) {
      p.feed.entries.append(p.readItem(item))
    }
    p.feed.droppedItems = max(0, items.count - FeedParser.maxItems)
    return p.feed
  }

  // MARK: Element identity

  func key(_ el: XMLNode) -> (FeedNamespace, String) { key(el, interned: el.internedNameKey) }

  /// `key`, given the element's `internedNameKey` (callers that need it too ask once).
  func key(_ el: XMLNode, interned: Int?) -> (FeedNamespace, String) {
    guard let id = el.namespaceIdentity else {
      guard let interned else { return Self.plainKey(Self.lowerASCII(el.name)) }
      if let hit = plainKeyCache[interned] { return hit }
      let r = Self.plainKey(Self.lowerASCII(el.name))
      plainKeyCache[interned] = r
      return r
    }
    let name: String
    if let interned, let cached = nameCache[interned] {
      name = cached
    } else {
      name = Self.lowerASCII(el.name)
      if let interned { nameCache[interned] = name }
    }
    // A declaration's address can be reused once its element is freed (streaming), so a
    // hit counts only when the URI is still the same.
    if let (uri, ns) = namespaceCache[id], el.namespaceURIIs(uri) { return (ns, name) }
    let uri = el.namespaceURI
    let ns = uri == rootNamespace ? .core : FeedNamespace.of(uri)
    namespaceCache[id] = (Array((uri ?? "").utf8), ns)
    return (ns, name)
  }

  /// `key` as an item field, cached by the interned name and the namespace.
  func itemTag(_ el: XMLNode) -> ItemTag {
    let interned = el.internedNameKey
    let (ns, name) = key(el, interned: interned)
    guard let interned else { return Self.itemTag(ns, name) }
    let k = UInt64(UInt(bitPattern: interned)) << 4 | UInt64(ns.rawValue)
    if let t = tagCache[k] { return t }
    let t = Self.itemTag(ns, name)
    tagCache[k] = t
    return t
  }

  static func itemTag(_ ns: FeedNamespace, _ name: String) -> ItemTag {
    switch (ns, name) {
    case (.core, "title"): return .title
    case (.media, "title"): return .mediaTitle
    case (.media, "description"): return .mediaDescription
    case (.media, "category"): return .mediaCategory
    case (.core, "tags"): return .tags
    case (.dc, "title"): return .dcTitle
    case (.core, "link"): return .link
    case (.core, "guid"): return .guid
    case (.core, "id"): return .id
    case (.core, "description"), (.core, "abstract"): return .description
    case (.core, "summary"): return .summary
    case (.dc, "description"): return .dcDescription
    case (.itunes, "summary"): return .itunesSummary
    case (.content, "encoded"), (.core, "fullitem"): return .contentEncoded
    case (.core, "content"): return .content
    case (.xhtml, "body"), (.core, "body"): return .body
    case (.core, "pubdate"), (.core, "published"), (.core, "issued"), (.dcterms, "issued"):
      return .published
    case (.dcterms, "created"), (.core, "created"): return .created
    case (.dc, "date"): return .dcDate
    case (.core, "updated"), (.core, "modified"), (.dcterms, "modified"): return .updated
    case (.core, "author"): return .author
    case (.dc, "creator"), (.dc, "author"): return .creator
    case (.itunes, "author"): return .itunesAuthor
    case (.core, "category"): return .category
    case (.dc, "subject"): return .dcSubject
    case (.itunes, "category"): return .itunesCategory
    case (.itunes, "keywords"): return .itunesKeywords
    case (.core, "enclosure"): return .enclosure
    case (.media, "content"): return .mediaContent
    case (.media, "thumbnail"): return .mediaThumbnail
    case (.media, "group"): return .mediaGroup
    default: return .other
    }
  }

  /// An element without a namespace: a `prefix:` written without its declaration (bozo
  /// documents) still says where it belongs.
  static func plainKey(_ name: String) -> (FeedNamespace, String) {
    if let colon = name.utf8.firstIndex(of: 0x3A) {
      return (
        FeedNamespace.ofPrefix(String(name[..<colon])),
        String(name[name.utf8.index(after: colon)...]).lowercased()
      )
    }
    return (.core, name.lowercased())
  }

  var isAtom: Bool { feed.format == .atom03 || feed.format == .atom10 }

  // MARK: Feed level

  // Feed-level fallbacks, used when the main element is missing.
  var itunesSummary: String?
  var itunesSubtitle: String?
  var dcTitle: String?
  var dcDescription: String?
  var feedLinkRank = Int.max

  func readFeed(_ channel: XMLNode) {
    if feed.format == .cdf, let href = channel.attribute("href") ?? channel.attribute("HREF") {
      feed.link = resolve(href, channel)
    }
    channel.forEachElement { el in handleFeedElement(el) }
    finishFeed()
  }

  func finishFeed() {
    if feed.title == nil { feed.title = dcTitle }
    if feed.subtitle == nil { feed.subtitle = dcDescription ?? itunesSubtitle ?? itunesSummary }
  }

  /// One child element of the channel (RSS) or feed (Atom).
  func handleFeedElement(_ el: XMLNode) {
    let (ns, name) = key(el)
    switch (ns, name) {
    case (.core, "title"):
      feed.title = text(el, isAtom ? .atom : .guess)
    case (.dc, "title"):
      dcTitle = text(el, .guess)
    case (.core, "link"):
      if let (href, rank) = linkCandidate(el), rank < feedLinkRank {
        feed.link = href
        feedLinkRank = rank
      } else if el.attribute("href") == nil, feedLinkRank > 0 {
        let t = el.text.trimmed
        if !t.isEmpty {
          feed.link = resolve(t, el)
          feedLinkRank = 0
        }
      }
    case (.core, "description"), (.core, "abstract"):
      feed.subtitle = text(el, isAtom ? .atom : .html)
    case (.core, "subtitle"), (.core, "tagline"):
      feed.subtitle = text(el, .atom)
    case (.dc, "description"):
      dcDescription = text(el, .html)
    case (.itunes, "summary"):
      itunesSummary = text(el, .guess)
    case (.itunes, "subtitle"):
      itunesSubtitle = text(el, .guess)
    case (.core, "language"), (.dc, "language"):
      feed.language = el.text.trimmed
    case (.core, "ttl"):
      feed.ttlMinutes = Int(el.text.trimmed)
    case (.sy, "updateperiod"):
      feed.updatePeriod = el.text.trimmed
    case (.sy, "updatefrequency"):
      feed.updateFrequency = Int(el.text.trimmed)
    case (.core, "skiphours"):
      el.forEachElement { h in
        if let v = Int(h.text.trimmed) { feed.skipHours.append(v) }
      }
    case (.core, "skipdays"):
      el.forEachElement { d in
        let v = d.text.trimmed
        if !v.isEmpty { feed.skipDays.append(v) }
      }
    case (.core, "image"):
      if let u = el.firstElement("url") {
        let t = u.text.trimmed
        if !t.isEmpty { feed.image = resolve(t, u) }
      }
    case (.core, "logo"), (.core, "icon"):
      let t = el.text.trimmed
      if !t.isEmpty, feed.image == nil || name == "logo" { feed.image = resolve(t, el) }
    case (.itunes, "image"):
      if feed.image == nil, let h = el.attribute("href") { feed.image = resolve(h, el) }
    default:
      break
    }
  }

  // MARK: Streaming

  /// Walks a well-formed RSS or Atom document with a stream reader, expanding one
  /// channel child or item at a time. Returns nil when the document needs the
  /// recovering DOM parser instead (an error, or a shape this walk does not know).
  static func parseStreaming(_ r: XMLStreamReader) -> ParsedFeed? {
    // The root element.
    while r.read() { if r.isElement { break } }
    guard !r.hadError, r.isElement, r.depth == 0 else { return nil }
    let rootName = r.localName.lowercased()
    let ns = r.namespaceURI
    var format: ParsedFeed.Format
    switch rootName {
    case "rss":
      switch r.attribute("version") ?? "" {
      case "0.91": format = .rss091
      case "0.92": format = .rss092
      case "0.93": format = .rss093
      case "0.94": format = .rss094
      default: format = .rss20
      }
    case "rdf":
      format = .rss10
    case "feed":
      format =
        ns == "http://purl.org/atom/ns#" || (ns == nil && r.attribute("version") == "0.3")
        ? .atom03 : .atom10
    default:
      return nil
    }
    let atom = format == .atom03 || format == .atom10
    let itemName = atom ? "entry" : "item"
    var p: XMLFeedParser?
    // Every element at depth 1 (Atom) or every channel child at depth 2 and item at
    // depth 1 or 2 (RSS) is expanded on its own and skipped past afterwards.
    var advanced = r.read()
    while advanced {
      guard r.isElement else {
        advanced = r.read()
        continue
      }
      let d = r.depth
      let name = Self.lowerASCII(r.localName)
      if !atom && d == 1 && name == "channel" {
        if r.namespaceURI == "http://my.netscape.com/rdf/simple/0.9/" {
          format = .rss090
          p?.feed.format = .rss090
        }
        advanced = r.read()  // descend
        continue
      }
      let isItem = name == itemName
      let isFeedChild = atom ? d == 1 : d == 2
      guard isItem || isFeedChild else {
        advanced = d <= 2 ? r.next() : r.read()
        continue
      }
      if isItem, let p, p.feed.entries.count >= FeedParser.maxItems {
        p.feed.droppedItems += 1  // skipped over, never expanded
        advanced = r.next()
        continue
      }
      guard let node = r.expand() else { return nil }
      let fp: XMLFeedParser
      if let p {
        fp = p
      } else {
        fp = XMLFeedParser(document: node.document)
        fp.feed.format = format
        fp.rootNamespace = ns
        p = fp
      }
      if isItem {
        fp.feed.entries.append(fp.readItem(node))
      } else {
        fp.handleFeedElement(node)
      }
      advanced = r.next()
    }
    guard !r.hadError else { return nil }
    guard let fp = p else {
      var empty = ParsedFeed()
      empty.format = format
      return empty
    }
    fp.finishFeed()
    return fp.feed
  }

  // MARK: Item level

  func readItem(_ itemNode: XMLNode) -> FeedItem {
    var item = FeedItem()
    item.baseURL = itemNode.baseURL
    var linkRank = Int.max
    var guidLink: String?
    var dcTitle: String?
    var itunesSummary: String?
    var atomAuthor: String?
    var otherAuthor: String?
    var itunesAuthor: String?
    var published: Date?
    var updated: Date?
    var dcDate: Date?
    var created: Date?
    if feed.format == .cdf {
      if let href = itemNode.attribute("href") ?? itemNode.attribute("HREF") {
        item.link = resolve(href, itemNode)
        linkRank = 0
      }
      if let lm = itemNode.attribute("lastmod") ?? itemNode.attribute("LASTMOD") {
        updated = FeedDate.parse(lm)
      }
    }
    var summaryFromDescription = false
    var mediaTitle: String?
    var mediaDescription: String?
    func handle(_ el: XMLNode) {
      let tag = itemTag(el)
      switch tag {
      case .title:
        item.title = text(el, isAtom ? .atom : .guess)
      case .mediaTitle:
        mediaTitle = text(el, .guess)
      case .mediaDescription:
        mediaDescription = text(el, .guess)
      case .mediaCategory:
        let t = el.text.trimmed
        if !t.isEmpty { item.tags.append(t) }
      case .tags:
        for k in el.text.split(separator: ",") {
          let t = k.trimmed
          if !t.isEmpty { item.tags.append(t) }
        }
      case .dcTitle:
        dcTitle = text(el, .guess)
      case .link:
        let rel = el.attribute("rel").map(Self.lowerASCII) ?? "alternate"
        if rel == "enclosure" {
          if let href = el.attribute("href"), !href.isEmpty {
            item.enclosures.append(
              .init(
                href: resolve(href, el), type: el.attribute("type"),
                length: el.attribute("length")))
          }
        } else if let (href, rank) = linkCandidate(el) {
          if rank < linkRank {
            item.link = href
            linkRank = rank
          }
        } else if el.attribute("href") == nil, rel == "alternate", linkRank > 0 {
          let t = el.text.trimmed
          if !t.isEmpty {
            item.link = resolve(t, el)
            linkRank = 0
          }
        }
      case .guid, .id:
        let t = el.text.trimmed
        if !t.isEmpty {
          // Identifiers are opaque; only what is plainly a relative path is resolved.
          item.id = t.hasPrefix("/") || t.hasPrefix("./") || t.hasPrefix("../") ? resolve(t, el) : t
          let perma = el.attribute("isPermaLink").map(Self.lowerASCII) != "false"
          if tag == .guid && perma { guidLink = item.id }
        }
      case .description:
        item.summary = text(el, isAtom ? .atom : .html)
        summaryFromDescription = !isAtom
      case .summary:
        if summaryFromDescription {
          // RSS with both: the description is the summary, this is the body.
          if item.content == nil { item.content = text(el, .atom) }
        } else {
          item.summary = text(el, .atom)
        }
      case .dcDescription:
        if item.summary == nil { item.summary = text(el, .html) }
      case .itunesSummary:
        itunesSummary = text(el, .guess)
      case .contentEncoded:
        if item.content == nil { item.content = text(el, .html) }
      case .content:
        if item.content == nil { item.content = atomContent(el) }
      case .body:
        if item.content == nil { item.content = text(el, .xhtml) }
      case .published:
        if let d = FeedDate.parse(el.text) { published = d }
      case .created:
        if let d = FeedDate.parse(el.text) { created = d }
      case .dcDate:
        if let d = FeedDate.parse(el.text) { dcDate = d }
      case .updated:
        if let d = FeedDate.parse(el.text) { updated = d }
      case .author:
        if el.elements.isEmpty {
          if otherAuthor == nil { otherAuthor = Self.personName(el.text) }
        } else if atomAuthor == nil {
          atomAuthor = atomPerson(el)
        }
      case .creator:
        if otherAuthor == nil { otherAuthor = Self.personName(el.text) }
      case .itunesAuthor:
        itunesAuthor = Self.personName(el.text)
      case .category:
        if let term = el.attribute("term") {
          if !term.isEmpty { item.tags.append(term) }
        } else {
          let t = el.text.trimmed
          if !t.isEmpty { item.tags.append(t) }
        }
      case .dcSubject:
        let t = el.text.trimmed
        if !t.isEmpty { item.tags.append(t) }
      case .itunesCategory:
        if let t = el.attribute("text"), !t.isEmpty { item.tags.append(t) }
      case .itunesKeywords:
        for k in el.text.split(separator: ",") {
          let t = k.trimmed
          if !t.isEmpty { item.tags.append(t) }
        }
      case .enclosure:
        if let url = el.attribute("url") ?? el.attribute("href"), !url.isEmpty {
          item.enclosures.append(
            .init(
              href: resolve(url, el), type: el.attribute("type"), length: el.attribute("length")))
        }
      case .mediaContent:
        if let m = media(el) { item.mediaContent.append(m) }
        el.forEachElement { c in
          if key(c) == (.media, "thumbnail"), let m = media(c) {
            item.thumbnails.append(m)
          } else if key(c) != (.media, "content") {
            handle(c)
          }
        }
      case .mediaThumbnail:
        if let m = media(el) { item.thumbnails.append(m) }
      case .mediaGroup:
        el.forEachElement { c in handle(c) }
      default:
        break
      }
    }
    itemNode.forEachElement { el in handle(el) }
    if item.id == nil, let about = itemNode.attribute("about", namespace: rdfNS), !about.isEmpty {
      item.id = about
    }
    if item.title == nil { item.title = dcTitle ?? mediaTitle }
    if item.summary == nil, let mediaDescription { item.summary = mediaDescription }
    if item.link == nil, let guidLink { item.link = guidLink }
    if item.summary == nil { item.summary = itunesSummary ?? item.content }
    item.author = atomAuthor ?? otherAuthor ?? itunesAuthor
    item.published = published ?? created
    item.updated = updated ?? dcDate
    if item.published == nil, item.updated == nil { item.published = created }
    return item
  }

  // MARK: Pieces

  let rdfNS = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"

  /// An Atom-style link (`href` attribute): the URL and a rank (lower is better), or nil
  /// when it is not a candidate for the entry's web link.
  func linkCandidate(_ el: XMLNode) -> (String, Int)? {
    guard let href = el.attribute("href"), !href.isEmpty else { return nil }
    let rel = el.attribute("rel").map(Self.lowerASCII) ?? "alternate"
    guard rel == "alternate" || rel == "http://www.iana.org/assignments/relation/alternate"
    else { return nil }
    let type = el.attribute("type").map(Self.lowerASCII) ?? ""
    let rank: Int
    if type.isEmpty || type == "text/html" || type == "application/xhtml+xml" {
      rank = 1
    } else {
      rank = 2
    }
    return (resolve(href, el), rank)
  }

  func media(_ el: XMLNode) -> FeedItem.Media? {
    guard let url = el.attribute("url"), !url.isEmpty else { return nil }
    var m = FeedItem.Media(url: resolve(url, el))
    m.type = el.attribute("type")
    m.medium = el.attribute("medium")
    m.width = el.attribute("width")
    m.height = el.attribute("height")
    m.fileSize = el.attribute("fileSize")
    m.duration = el.attribute("duration")
    return m
  }

  /// `Name (email)`, `email (Name)`, `Name <email>`: the display name.
  static func personName(_ raw: String) -> String? {
    var s = raw.trimmed
    guard !s.isEmpty else { return nil }
    if let open = s.firstIndex(of: "("), let close = s.lastIndex(of: ")"), open < close {
      let inner = s[s.index(after: open)..<close].trimmed
      let outer = (s[..<open] + s[s.index(after: close)...]).trimmed
      if outer.contains("@") && !inner.isEmpty { return inner }
      if !outer.isEmpty && inner.contains("@") { return outer }
    }
    if let lt = s.firstIndex(of: "<"), let gt = s.lastIndex(of: ">"), lt < gt {
      let outer = (s[..<lt] + s[s.index(after: gt)...]).trimmed
      if !outer.isEmpty { s = outer }
    }
    return s
  }

  func atomPerson(_ el: XMLNode) -> String? {
    var name: String?
    var email: String?
    el.forEachElement { c in
      let (_, n) = key(c)
      let t = c.text.trimmed
      if n == "name", !t.isEmpty { name = t }
      if n == "email", !t.isEmpty { email = t }
    }
    return name ?? email
  }

  func resolve(_ ref: String, _ el: XMLNode) -> String {
    let r = ref.trimmed
    return FeedURL.resolve(r, base: el.baseURL)
  }

  /// Atom `content`: out-of-line (`src`) content has no body.
  func atomContent(_ el: XMLNode) -> String? {
    if el.attribute("src") != nil && el.text.isEmpty && el.elements.isEmpty { return nil }
    return text(el, isAtom ? .atom : .html)
  }

  /// The element's content as an HTML string, following its text construct rules.
  func text(_ el: XMLNode, _ kind: TextKind) -> String {
    // The base is only worked out when a URL in the markup needs it (the sanitizer asks
    // at most once).
    func base() -> String? { el.baseURL }
    var value: String
    switch kind {
    case .guess:
      if el.hasElementChildren {
        value = HTMLSanitizer.sanitize(Self.markup(el), baseProvider: base)
      } else {
        let t = el.text.trimmed
        value = Self.looksLikeHTML(t) ? HTMLSanitizer.sanitize(t, baseProvider: base) : t
      }
    case .html:
      if el.hasElementChildren {
        value = HTMLSanitizer.sanitize(Self.markup(el), baseProvider: base)
      } else {
        value =
          el.withSingleTextContent { HTMLSanitizer.sanitize(trimming: $0, baseProvider: base) }
          ?? HTMLSanitizer.sanitize(el.text.trimmed, baseProvider: base)
      }
    case .xhtml:
      value = HTMLSanitizer.sanitize(Self.markup(el), baseProvider: base)
    case .atom:
      value = atomText(el, base: base)
    }
    return Self.demoronize(value)
  }

  /// Atom text constructs. Plain text is returned as it is (feedparser's convention:
  /// only HTML and XHTML come back as markup); non-text media types are base64.
  func atomText(_ el: XMLNode, base: () -> String?) -> String {
    var type = (el.attribute("type").map(Self.lowerASCII) ?? "text").trimmed
    let mode = el.attribute("mode").map(Self.lowerASCII)
    if type.isEmpty { type = "text" }
    let isHTML = type == "html" || type == "text/html"
    let isXHTML = type == "xhtml" || type == "application/xhtml+xml"
    let isXML = !isXHTML && (type.hasSuffix("/xml") || type.hasSuffix("+xml"))
    let isText = type == "text" || type.hasPrefix("text/")
    if el.hasElementChildren && mode != "escaped" && mode != "base64" {
      // Inline markup; a lone XHTML div wrapper is not content.
      let kids = el.elements
      var raw: String
      if feed.format == .atom10, kids.count == 1, kids[0].name.lowercased() == "div",
        el.children.allSatisfy({ $0.isElement || $0.content.allSatisfy(\.isWhitespace) })
      {
        raw = Self.markup(kids[0])
      } else {
        raw = Self.markup(el)
      }
      raw = raw.trimmed
      if !isXHTML && !isXML {
        // Markup inside a text or html construct: its escaped text is the real content.
        raw = Self.unescapeXML(raw)
      }
      return HTMLSanitizer.sanitize(raw, baseProvider: base)
    }
    if mode != "base64", isHTML || isXHTML || isXML,
      let v = el.withSingleTextContent({ HTMLSanitizer.sanitize(trimming: $0, baseProvider: base) })
    {
      return v
    }
    var raw = el.text
    if mode == "base64" || (!isText && !isHTML && !isXHTML && !isXML) {
      let t = raw.filter { !$0.isWhitespace }
      if let data = Data(base64Encoded: t, options: .ignoreUnknownCharacters) {
        raw = String(decoding: data, as: UTF8.self)
      }
    }
    raw = raw.trimmed
    if isHTML || isXHTML || isXML { return HTMLSanitizer.sanitize(raw, baseProvider: base) }
    if mode == "escaped" && Self.looksLikeHTML(raw) {
      return HTMLSanitizer.sanitize(raw, baseProvider: base)
    }
    return raw
  }

  static func unescapeXML(_ s: String) -> String {
    guard s.contains("&") else { return s }
    return s.replacingOccurrences(of: "&lt;", with: "<").replacingOccurrences(of: "&gt;", with: ">")
      .replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&apos;", with: "'")
      .replacingOccurrences(of: "&amp;", with: "&")
  }

  /// Characters U+0080-U+009F are C1 controls nobody means; they come from
  /// windows-1252 text (or `&#146;`) and stand for its curly quotes, dashes, etc.
  static func demoronize(_ s: String) -> String {
    // In UTF-8 these are C2 80 ... C2 9F.
    let found =
      s.utf8.withContiguousStorageIfAvailable { p -> Bool in
        var i = 0
        let n = p.count
        guard let base = p.baseAddress else { return false }
        let raw = UnsafeRawPointer(base)
        while i + 1 < n {
          // Eight ASCII bytes at a time.
          if i + 8 <= n,
            raw.loadUnaligned(fromByteOffset: i, as: UInt64.self) & 0x8080_8080_8080_8080 == 0
          {
            i += 8
            continue
          }
          if p[i] == 0xC2 && p[i + 1] >= 0x80 && p[i + 1] <= 0x9F { return true }
          i += 1
        }
        return false
      } ?? true
    guard found else { return s }
    var out = String.UnicodeScalarView()
    for ch in s.unicodeScalars {
      if ch.value >= 0x80 && ch.value <= 0x9F,
        let m = Unicode.Scalar(FeedBytes.cp1252Scalar(UInt8(ch.value)))
      {
        out.append(m)
      } else {
        out.append(ch)
      }
    }
    return String(out)
  }

  static func lowerASCII(_ s: String) -> String {
    for b in s.utf8 where b >= 0x41 && b <= 0x5A { return s.lowercased() }
    return s
  }

  static func escape(_ s: String) -> String { escape(s, quotes: false) }

  /// `&`, `<` and `>` (and `"` with `quotes`) as references; the rest copied in runs.
  static func escape(_ s: String, quotes: Bool) -> String {
    let special: (UInt8) -> Bool = {
      $0 == 0x26 || $0 == 0x3C || $0 == 0x3E || (quotes && $0 == 0x22)
    }
    guard s.utf8.contains(where: special) else { return s }
    var out: [UInt8] = []
    out.reserveCapacity(s.utf8.count + 16)
    for b in s.utf8 {
      switch b {
      case 0x26: out.append(contentsOf: [0x26, 0x61, 0x6D, 0x70, 0x3B])  // &amp;
      case 0x3C: out.append(contentsOf: [0x26, 0x6C, 0x74, 0x3B])  // &lt;
      case 0x3E: out.append(contentsOf: [0x26, 0x67, 0x74, 0x3B])  // &gt;
      case 0x22 where quotes:  // &quot;
        out.append(contentsOf: [0x26, 0x71, 0x75, 0x6F, 0x74, 0x3B])
      default: out.append(b)
      }
    }
    return String(decoding: out, as: UTF8.self)
  }

  /// RSS gives no type: text that has an end tag or a character reference, and only
  /// tags the sanitizer accepts, is HTML.
  static func looksLikeHTML(_ s: String) -> Bool {
    guard s.utf8.contains(where: { $0 == 0x3C || $0 == 0x26 }) else { return false }
    let b = Array(s.utf8)
    var hasEndTag = false
    var hasRef = false
    var i = 0
    while i < b.count {
      if b[i] == 0x3C {
        var k = i + 1
        let end = k < b.count && b[k] == 0x2F
        if end { k += 1 }
        let s0 = k
        while k < b.count, HTMLSanitizer.isAlpha(b[k]) || (k > s0 && b[k] >= 0x30 && b[k] <= 0x39) {
          k += 1
        }
        if k > s0 {
          let name = String(decoding: b[s0..<k], as: UTF8.self).lowercased()
          if !HTMLSanitizer.acceptableElements.contains(name) { return false }
          if end && k < b.count && b[k] == 0x3E { hasEndTag = true }
        }
        i = k
        continue
      }
      if b[i] == 0x26 {
        var k = i + 1
        if k < b.count, b[k] == 0x23 { k += 1 }
        let s0 = k
        while k < b.count, HTMLSanitizer.isAlpha(b[k]) || (b[k] >= 0x30 && b[k] <= 0x39) { k += 1 }
        if k > s0, k < b.count, b[k] == 0x3B { hasRef = true }
        i = k
        continue
      }
      i += 1
    }
    return hasEndTag || hasRef
  }

  /// The children of `el` serialized as HTML-ish markup: local names, text escaped,
  /// internal entity references expanded (within `XMLNode.text`'s budget).
  static func markup(_ el: XMLNode) -> String {
    var out = ""
    appendMarkup(el.children, into: &out, depth: 0)
    return out
  }

  static func appendMarkup(_ nodes: [XMLNode], into out: inout String, depth: Int) {
    guard depth < 256 else { return }
    for n in nodes {
      switch n.kind {
      case .text, .cdata:
        out += escape(n.content)
      case .entityReference:
        out += escape(n.text)
      case .element:
        var name = n.name
        if let colon = name.utf8.lastIndex(of: 0x3A) {
          name = String(name[name.utf8.index(after: colon)...])
        }
        out += "<"
        out += name
        // A namespace switch (SVG or MathML inside XHTML) keeps its declaration.
        if let uri = n.namespaceURI, uri != n.parent?.namespaceURI {
          out += " xmlns=\""
          out += escape(uri)
          out += "\""
        }
        if n.hasAttributes {
          for a in n.attributes {
            out += " "
            if a.namespace == "http://www.w3.org/XML/1998/namespace" {
              out += "xml:"
            } else if a.namespace == "http://www.w3.org/1999/xlink" {
              out += "xlink:"
            }
            out += a.name
            out += "=\""
            out += escape(a.value, quotes: true)
            out += "\""
          }
        }
        let kids = n.children
        if kids.isEmpty && HTMLSanitizer.voidElements.contains(name.lowercased()) {
          out += " />"
        } else {
          out += ">"
          appendMarkup(kids, into: &out, depth: depth + 1)
          out += "</"
          out += name
          out += ">"
        }
      default:
        break
      }
    }
  }
}
