import Articles
import Extract
import Feeds
import Foundation
import Spool

/// Where an article came from, as configured.
struct ArticleOrigin: Sendable {
  var feedURL: String?
  var topics: [String]
  var category: String
}

/// Turns a feed item or an extracted page into an `Article` (DESIGN section 1).
enum ArticleBuilder {
  /// The item's link, canonicalized; nil when the item has no usable http(s) link.
  /// An id (guid, Atom id, JSON Feed id) stands in for a missing link only when it is an
  /// absolute http(s) URL: `1` or `post-1` resolved against the feed's URL made up a
  /// page, and two feeds' items with the same ids became one article.
  static func links(of item: FeedItem, base: String?) -> (original: String, canonical: String)? {
    var candidates: [String] = []
    let id = item.id.map(trimmed)
    let absoluteID = id.map(CanonicalURL.isHTTPURL) ?? false
    // A permalink guid the parser made the link is held to the same rule.
    if let l = item.link, absoluteID || trimmed(l) != id { candidates.append(l) }
    if let id, absoluteID { candidates.append(id) }
    for c in candidates {
      let trimmed = trimmed(c)
      if let (original, canon) = CanonicalURL.normalizedAndCanonical(
        trimmed, base: item.baseURL ?? base)
      {
        return (original, canon)
      }
    }
    return nil
  }

  static func fromItem(
    _ item: FeedItem, feed: ParsedFeed, feedURL: String, origin: ArticleOrigin, fetched: Date,
    page: ExtractedPage? = nil, pageMarkdown: String? = nil,
    links known: (original: String, canonical: String)? = nil
  ) -> Article? {
    // The caller usually has the links already (it looked the article up by them).
    guard let (original, canonical) = known ?? links(of: item, base: feedURL) else { return nil }
    let bodyHTML = item.content ?? item.summary ?? ""
    let excerptSource = item.summary ?? item.content ?? ""
    let converted: MarkdownConversion
    var excerpt: String
    if excerptSource == bodyHTML {  // one parse gives both
      let both = MarkdownConverter.convertWithPlainText(
        html: bodyHTML, baseURL: item.baseURL ?? feedURL)
      converted = both.conversion
      excerpt = HTMLText.excerpt(fromText: both.plainText, maxLength: 300)
    } else {
      converted = MarkdownConverter.convert(html: bodyHTML, baseURL: item.baseURL ?? feedURL)
      excerpt = HTMLText.excerpt(fromHTML: excerptSource, maxLength: 300)
    }
    var title = HTMLText.plainText(fromHTML: item.title ?? "")
    if title.isEmpty, let t = page?.title, !t.isEmpty { title = t }
    if title.isEmpty { title = String(excerpt.prefix(80)) }
    if title.isEmpty { title = "Untitled" }
    title = capped(title)
    if excerpt.isEmpty, let e = page?.excerpt { excerpt = e }

    let date = item.published ?? item.updated ?? page?.published
    var a = Article(
      title: title, webURL: canonical, published: date ?? fetched,
      dateSource: date == nil ? .fetched : .source, fetched: fetched,
      body: pageMarkdown ?? converted.markdown)
    a.category = origin.category
    a.excerpt = excerpt.isEmpty ? nil : excerpt
    a.originalURL = original == canonical ? nil : original
    let feedTitle = feed.title.map { HTMLText.plainText(fromHTML: $0) }
    a.providerName = (page?.siteName ?? (feedTitle?.isEmpty == false ? feedTitle : nil)).map {
      capped($0, 200)
    }
    a.providerDomain = RegistrableDomain.of(url: canonical)
    if a.providerName == nil, let d = a.providerDomain {
      a.providerName = (ProviderName.fallback(domain: d) ?? d)
    }
    a.topics = uniqued(itemTopics(item.tags) + origin.topics)
    a.images = images(of: item, bodyImages: converted.images, page: page)
    a.author = item.author.map { capped(HTMLText.plainText(fromHTML: $0), 200) }.flatMap {
      $0.isEmpty ? nil : $0
    }
    // The feed as configured, not where redirects led this fetch (`feedURL`, the base of
    // relative links): a consumer groups articles by the feed it subscribed to.
    a.feed = origin.feedURL ?? feedURL
    a.id = item.id.map { capped($0, 2000) }
    a.language = feed.language
    return a
  }

  static func fromPage(
    _ page: ExtractedPage, markdown: String, finalURL: String, requestedURL: String,
    origin: ArticleOrigin, fetched: Date
  ) -> Article? {
    // The page's own canonical link wins only when it stays on the same site.
    var canonical = CanonicalURL.canonicalize(finalURL) ?? CanonicalURL.canonicalize(requestedURL)
    if let c = page.canonicalURL.flatMap({ CanonicalURL.canonicalize($0, base: finalURL) }),
      RegistrableDomain.of(url: c)
        == RegistrableDomain.of(url: finalURL)
    {
      canonical = c
    }
    guard let canonical else { return nil }
    let date = page.published
    var title = page.title ?? ""
    if title.isEmpty { title = String((page.excerpt ?? "").prefix(80)) }
    if title.isEmpty { title = "Untitled" }
    title = capped(title)
    var a = Article(
      title: title, webURL: canonical, published: date ?? fetched,
      dateSource: date == nil ? .fetched : .source, fetched: fetched, body: markdown)
    a.category = origin.category
    a.excerpt = page.excerpt.flatMap { $0.isEmpty ? nil : capped($0, 500) }
    a.originalURL = requestedURL == canonical ? nil : requestedURL
    a.providerDomain = RegistrableDomain.of(url: canonical)
    a.providerName =
      page.siteName.map { capped($0, 200) }
      ?? a.providerDomain.map { (ProviderName.fallback(domain: $0) ?? $0) }
    a.topics = uniqued(origin.topics)
    a.images = page.images.prefix(5).map { Article.Image(url: $0) }
    a.author = page.byline.map { capped($0, 200) }
    a.language = page.lang
    return a
  }

  static func images(
    of item: FeedItem, bodyImages: [Article.Image], page: ExtractedPage?
  ) -> [Article.Image] {
    var out: [Article.Image] = []
    var seen = Set<String>()
    func add(_ url: String?, _ w: String? = nil, _ h: String? = nil) {
      guard let url, CanonicalURL.isHTTPURL(url), seen.insert(url).inserted else { return }
      out.append(
        Article.Image(url: url, width: w.flatMap { Int($0) }, height: h.flatMap { Int($0) }))
    }
    for t in item.thumbnails { add(t.url, t.width, t.height) }
    for m in item.mediaContent
    where m.medium == "image" || (m.type?.hasPrefix("image/") ?? false) {
      add(m.url, m.width, m.height)
    }
    for e in item.enclosures where e.type?.hasPrefix("image/") ?? false { add(e.href) }
    if let page { for i in page.images { add(i) } }
    for i in bodyImages {
      add(i.url, i.width.map(String.init), i.height.map(String.init))
    }
    return Array(out.prefix(5))
  }

  /// `key`: the article's `dedupKey`, when the caller already made it to look it up.
  static func pending(_ a: Article, key: URLKey? = nil) -> PendingArticle {
    var text = FrontMatter.render(a)
    if !text.hasSuffix("\n") { text += "\n" }
    return PendingArticle(
      key: key ?? dedupKey(a.webURL), fileName: ArticleFileName(a).fileName, contents: text)
  }

  /// The key an article is delivered under: its canonical URL with the query sorted.
  static func dedupKey(_ canonical: String) -> URLKey {
    URLKey(canonicalURL: CanonicalURL.dedupForm(canonical))
  }

  /// The key the article of this canonical URL is delivered under (`dedupKey`), and
  /// whether it was delivered: under that key, or under a key of an earlier version (the
  /// URL as it is, before queries were sorted for keys; its raw query sorted, before
  /// they were read as forms).
  static func lookUp(_ canonical: String, in spool: Spool) -> (key: URLKey, delivered: Bool) {
    let form = CanonicalURL.dedupForm(canonical)
    let key = URLKey(canonicalURL: form)
    if spool.contains(key) { return (key, true) }
    if form != canonical && spool.contains(URLKey(canonicalURL: canonical)) { return (key, true) }
    let sorted = CanonicalURL.sortedQueryForm(canonical)
    let delivered =
      sorted != canonical && sorted != form && spool.contains(URLKey(canonicalURL: sorted))
    return (key, delivered)
  }

  /// Titles and other short fields from the network are capped (a feed may send a
  /// megabyte of title), cut at a word boundary.
  /// Characters are counted, and bytes too: one character may carry thousands of
  /// combining marks (a 290-character title of 2.3 MB made an 11 MB article file).
  static func capped(_ s: String, _ max: Int = 300) -> String {
    let bytes = s.utf8.count
    if bytes <= max || (bytes <= HTMLText.bytesPerCharacterCap * max && s.count <= max) {
      return s
    }
    return HTMLText.excerpt(fromText: s, maxLength: max)
  }

  /// `trimmingCharacters(in: .whitespacesAndNewlines)`, without Foundation when both ends
  /// are printable ASCII (nearly every link).
  static func trimmed(_ s: String) -> String {
    if let f = s.utf8.first, let l = s.utf8.last, f > 0x20, f < 0x7F, l > 0x20, l < 0x7F {
      return s
    }
    return s.trimmingCharacters(in: .whitespacesAndNewlines)
  }

  /// An item's own categories as topics: the first `maxItemTopics` distinct ones, each
  /// cut at 100 characters (60,000 categories made a 650 KB front matter). The feed's
  /// configured topics come on top of them.
  static func itemTopics(_ tags: [String]) -> [String] {
    var out: [String] = []
    var seen = Set<String>()
    // Looked at: the first 500 (each is parsed as HTML), so that 60,000 equal or empty
    // ones cost no more than 500.
    for tag in tags.prefix(500) {
      if out.count >= maxItemTopics { break }
      let t = capped(HTMLText.plainText(fromHTML: tag), 100)
      if !t.isEmpty && seen.insert(t.lowercased()).inserted { out.append(t) }
    }
    return out
  }

  static let maxItemTopics = 50

  static func uniqued(_ xs: [String]) -> [String] {
    var seen = Set<String>()
    return xs.filter { !$0.isEmpty && seen.insert($0.lowercased()).inserted }
  }
}
