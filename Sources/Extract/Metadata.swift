import Foundation

/// Metadata found in a page, and the order in which sources win.
///
/// Every source is read; the first non-empty value in this table wins. Values from
/// `<meta>` tags are keyed by their lower-cased `property`/`name`/`itemprop` with `.`
/// read as `:` (`dc.creator` = `dc:creator`); a `property` holding several
/// space-separated names counts for each.
///
/// | field | precedence (first wins) |
/// | --- | --- |
/// | title | JSON-LD article `headline`/`name` (the one closer to `<title>`); `dc:title`, `dcterm:title`, `og:title`, `weibo:article:title`, `weibo:webpage:title`, meta `title`, `twitter:title`, `parsely-title`, `sailthru:title`, `itemprop=headline`; then `<title>` without its site-name part (" \| Site", " - Site", " — Site", "Site: ..."); then the only `<h1>` |
/// | byline | JSON-LD `author` name(s) joined with ", "; `dc:creator`, `dcterm:creator`, meta `author`, `parsely-author`, `sailthru:author`, `article:author` and `og:article:author` (not when a URL), `itemprop=author` meta; then in the page: the first visible `rel=author`, `itemprop~=author` or class/id `byline`/`author`/`dateline`/`writtenby` element with short text (its `itemprop=name` part when it has one) |
/// | excerpt | JSON-LD `description`; `dc:description`, `dcterm:description`, `og:description`, `weibo:*:description`, meta `description`, `twitter:description`; then the first paragraph of the extracted body |
/// | siteName | JSON-LD `publisher.name` (or the WebSite/Organization name); `og:site_name`; `application-name`, `twitter:app:name:*` ; then the site-name part removed from `<title>` |
/// | publishedTime | JSON-LD `datePublished`/`dateCreated`; `article:published_time`, `og:published_time`, `parsely-pub-date`, `sailthru:date`, `dc:date`, `dcterm:created`, `dc:date:issued`, meta `date`, `pubdate`, `publishdate`, `publish-date`, `publish_date`, `datepublished`, `article:published`; `itemprop=datePublished` (content or datetime); the first `<time pubdate>`, else the first `<time datetime>` |
/// | lang | `<html lang>` / `xml:lang`; `content-language` http-equiv; JSON-LD `inLanguage`; `og:locale` |
/// | canonicalURL | `<link rel=canonical>`; `og:url`; JSON-LD `url` — resolved against the page base |
/// | images | `og:image` (first = lead), `og:image:url`, `twitter:image`, JSON-LD `image`, then the body's `<img>` |
struct Metadata {
  /// Titles and headings are read up to this many characters: no real one comes near, and
  /// the title cleaner's case-insensitive searches over a 9.6 MB `<title>` took 7 s and
  /// 250 MB.
  static let maxTitleCharacters = 1000

  static func titleSized(_ s: String) -> String {
    s.utf8.count <= maxTitleCharacters ? s : String(s.prefix(maxTitleCharacters))
  }

  var title: String?
  var byline: String?
  var excerpt: String?
  var siteName: String?
  var publishedTime: String?
  var lang: String?
  var canonicalURL: String?
  var metaImages: [String] = []
  /// Raw `<title>` text and the cleaned one (for the "title in body" check).
  var documentTitle: String = ""
  /// True when `byline` came from metadata (so the body need not supply one).
  var bylineFromMeta: Bool { byline != nil }

  static let titleKeys = [
    "dc:title", "dcterm:title", "dcterms:title", "og:title", "weibo:article:title",
    "weibo:webpage:title", "title", "twitter:title", "parsely-title", "sailthru:title",
    "itemprop:headline",
  ]
  static let bylineKeys = [
    "dc:creator", "dcterm:creator", "dcterms:creator", "author", "parsely-author",
    "sailthru:author", "article:author", "og:article:author", "itemprop:author",
    "byl",
  ]
  static let excerptKeys = [
    "dc:description", "dcterm:description", "dcterms:description", "og:description",
    "weibo:article:description", "weibo:webpage:description", "description",
    "twitter:description",
  ]
  static let siteKeys = ["og:site_name", "application-name", "twitter:app:name:iphone"]
  static let dateKeys = [
    "article:published_time", "og:published_time", "og:article:published_time",
    "parsely-pub-date", "sailthru:date", "dc:date", "dcterm:created", "dcterms:created",
    "dc:date:issued", "dcterms:issued", "date", "pubdate", "publishdate", "publish-date",
    "publish_date", "datepublished", "article:published", "itemprop:datepublished",
    "cxenseparse:recs:publishtime", "article:published_date", "publication_date",
  ]

  /// Reads the metadata of `tree`; `base` resolves relative URLs.
  static func read(_ tree: PageTree, base: String?) -> Metadata {
    var meta: [String: String] = [:]
    var scripts: [String] = []
    var titleText: String? = nil
    var canonical: String? = nil
    var headings: [String] = []
    var h1s: [String] = []
    var timePub: String? = nil
    var timeFirst: String? = nil
    var images: [String] = []
    var contentLanguage: String? = nil

    func put(_ key: String, _ value: String) {
      let v = value.trimmingSpaces()
      if v.isEmpty { return }
      let k = key.lowercased().filter { !$0.isWhitespace }.replacingOccurrences(of: ".", with: ":")
      // Later tags overwrite earlier ones, except for images (the first is the lead).
      meta[k] = v
    }

    guard tree.root >= 0 else { return Metadata() }
    tree.walk(tree.root) { i in
      let n = tree.name[i]
      if n != "meta", let itemprop = tree.attr(i, "itemprop")?.lowercased() {
        if itemprop == "datepublished" && meta["itemprop:datepublished"] == nil {
          if let v = tree.attr(i, "datetime") ?? tree.attr(i, "content") {
            put("itemprop:datepublished", v)
          }
        } else if itemprop == "headline" && meta["itemprop:headline"] == nil {
          put("itemprop:headline", foldWhitespace(tree.textContent(i)))
        }
      }
      switch n {
      case "meta":
        guard let content = tree.attr(i, "content") else { return false }
        if let property = tree.attr(i, "property") {
          for p in property.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }) {
            put(String(p), content)
            let lower = p.lowercased()
            if lower == "og:image" || lower == "og:image:url" || lower == "og:image:secure_url" {
              images.append(content.trimmingSpaces())
            }
          }
        }
        if let name = tree.attr(i, "name") {
          put(name, content)
          let lower = name.lowercased()
          if lower == "twitter:image" || lower == "twitter:image:src" {
            images.append(content.trimmingSpaces())
          }
        }
        if let itemprop = tree.attr(i, "itemprop") {
          for p in itemprop.split(separator: " ") { put("itemprop:" + p, content) }
        }
        if let equiv = tree.attr(i, "http-equiv"), equiv.lowercased() == "content-language" {
          contentLanguage = content
        }
        return false
      case "script":
        if let type = tree.attr(i, "type"), type.lowercased().contains("ld+json") {
          scripts.append(tree.textContent(i))
        }
        return false
      case "style", "noscript", "template", "svg":
        return false
      case "title":
        if titleText == nil && !tree.hasAncestor(i, named: "svg") {
          titleText = tree.textContent(i)
        }
        return false
      case "link":
        let rel = (tree.attr(i, "rel") ?? "").lowercased()
        if canonical == nil && rel.split(separator: " ").contains("canonical") {
          canonical = tree.attr(i, "href")
        }
        return false
      case "h1", "h2":
        let t = Metadata.titleSized(foldWhitespace(tree.textContent(i)))
        headings.append(t)
        if n == "h1" { h1s.append(t) }
        return false
      case "time":
        if let dt = tree.attr(i, "datetime"), !dt.trimmingSpaces().isEmpty {
          if timeFirst == nil { timeFirst = dt }
          if timePub == nil
            && (tree.attr(i, "pubdate") != nil
              || (tree.attr(i, "itemprop") ?? "").lowercased().contains("datepublished"))
          {
            timePub = dt
          }
        }
        return true
      default:
        return true
      }
    }

    let ld = JSONLDArticle.find(in: scripts)
    var out = Metadata()
    let rawTitle = Metadata.titleSized(foldWhitespace(titleText ?? ""))
    out.documentTitle = rawTitle

    func first(_ keys: [String]) -> String? {
      for k in keys {
        if let v = meta[k] { return v }
      }
      return nil
    }

    // Title.
    var title: String? = nil
    if let ld, ld.isArticle {
      if let name = ld.name, let headline = ld.headline,
        name.lowercased() == ld.publisherName?.lowercased()
      {
        // A "name" that is the publisher's is not the article's title.
        title = headline
      } else if let name = ld.name, let headline = ld.headline, name != headline {
        // How much of the <title> each one covers.
        let nameScore = textSimilarity(name, rawTitle)
        let headlineScore = textSimilarity(headline, rawTitle)
        title = (headlineScore > 0.75 && nameScore <= 0.75) ? headline : name
      } else {
        title = ld.name ?? ld.headline
      }
    }
    if title == nil { title = first(titleKeys) }
    title = title.map(Metadata.titleSized)
    let knownSite = ld?.publisherName ?? first(siteKeys)
    let cleaned = TitleCleaner.clean(rawTitle, headings: headings, h1s: h1s, site: knownSite)
    if title == nil || title!.isEmpty { title = cleaned.title }
    if title!.isEmpty && h1s.count == 1 { title = h1s[0] }
    out.title = title.map { decodeEntities(foldWhitespace($0)) }

    // Byline.
    if let ld, !ld.authors.isEmpty {
      out.byline = ld.authors.joined(separator: ", ")
    } else {
      for k in bylineKeys {
        if let v = meta[k], !looksLikeURL(v) {
          out.byline = v
          break
        }
      }
    }
    out.byline = out.byline.map { stripByPrefix(decodeEntities(foldWhitespace($0))) }

    out.excerpt = (ld?.description ?? first(excerptKeys)).map {
      decodeEntities($0.trimmingSpaces())
    }
    out.siteName = (ld?.publisherName ?? first(siteKeys) ?? cleaned.site).map {
      decodeEntities(foldWhitespace($0))
    }
    out.publishedTime = (ld?.datePublished ?? first(dateKeys) ?? timePub ?? timeFirst).map {
      $0.trimmingSpaces()
    }

    if let lang = tree.attr(tree.root, "lang") ?? tree.attr(tree.root, "xml:lang"),
      !lang.trimmingSpaces().isEmpty
    {
      out.lang = lang.trimmingSpaces()
    } else {
      out.lang = contentLanguage ?? ld?.inLanguage ?? meta["og:locale"]
    }

    let canonicalRaw = canonical ?? meta["og:url"] ?? ld?.url
    out.canonicalURL = canonicalRaw.flatMap { resolveURL($0, base: base) }
    var seen = Set<String>()
    for raw in images + (ld?.images ?? []) {
      if let u = resolveURL(raw, base: base), !u.hasPrefix("data:"), seen.insert(u).inserted {
        out.metaImages.append(u)
      }
    }
    return out
  }
}

/// Cleans a document `<title>` of its site-name part. A part is cut at the last
/// separator (" | ", " - ", " – ", " — ", " / ", " > ", " » ", " :: ") when what is
/// left keeps at least 3 words; a leading "Site | " is cut when the tail is the
/// longer part. Very short results fall back to the whole title unless the cut piece
/// was exactly one word of a hierarchical "A > B" path.
enum TitleCleaner {
  static let separators: [String] = [
    " | ", " - ", " – ", " — ", " \\ ", " / ", " > ", " » ", " :: ",
  ]
  static let hierarchical: Set<String> = [" \\ ", " / ", " > ", " » "]

  static func wordCount(_ s: String) -> Int {
    s.split(whereSeparator: { $0.isWhitespace }).count
  }

  static func clean(_ raw: String, headings: [String], h1s: [String], site known: String? = nil)
    -> (title: String, site: String?)
  {
    let original = raw
    // A site name known from the metadata is cut from either end.
    if let known = known.map(foldWhitespace), !known.isEmpty {
      let lower = original.lowercased()
      let k = known.lowercased()
      for sep in separators {
        if lower.hasSuffix(sep + k) {
          let t = foldWhitespace(String(original.dropLast(sep.count + known.count)))
          if !t.isEmpty { return (t, known) }
        }
        if lower.hasPrefix(k + sep) {
          let t = foldWhitespace(String(original.dropFirst(sep.count + known.count)))
          if !t.isEmpty { return (t, known) }
        }
      }
    }
    var title = original
    var site: String? = nil
    var hadHierarchical = false
    // Every separator occurrence, by position.
    var cuts: [(range: Range<String.Index>, sep: String)] = []
    for sep in separators {
      var searchStart = original.startIndex
      while let r = original.range(of: sep, range: searchStart..<original.endIndex) {
        cuts.append((r, sep))
        searchStart = r.upperBound
      }
    }
    cuts.sort { $0.range.lowerBound < $1.range.lowerBound }
    if let last = cuts.last, let firstCut = cuts.first {
      hadHierarchical = cuts.contains { hierarchical.contains($0.sep) }
      let head = String(original[..<last.range.lowerBound])
      let firstHead = String(original[..<firstCut.range.lowerBound])
      let firstTail = String(original[firstCut.range.upperBound...])
      if cuts.count == 1 && wordCount(firstHead) <= 3 && wordCount(firstTail) >= 5 {
        // "Site | A much longer headline": the short lead is the site.
        title = firstTail
        site = firstHead
      } else if wordCount(head) >= 3 {
        title = head
        site = String(original[last.range.upperBound...])
      } else {
        title = String(original[firstCut.range.upperBound...])
        site = String(original[..<firstCut.range.lowerBound])
      }
    } else if original.contains(": ") {
      if !headings.contains(original) {
        let lastColon = original.lastIndex(of: ":")!
        let firstColon = original.firstIndex(of: ":")!
        title = String(original[original.index(after: lastColon)...])
        if wordCount(title) < 3 {
          title = String(original[original.index(after: firstColon)...])
        } else if wordCount(String(original[..<firstColon])) > 5 {
          title = original
        }
      }
    } else if original.count > 150 || original.count < 15, h1s.count == 1 {
      title = h1s[0]
    }
    title = foldWhitespace(title)
    let words = wordCount(title)
    if words <= 4 {
      let stripped = original.filter { !"|-\\/>»–—·:".contains($0) }
      if !hadHierarchical || words != wordCount(stripped) - 1 {
        title = original
        site = nil
      }
    }
    let s = site.map(foldWhitespace)
    return (title, (s?.isEmpty ?? true) ? nil : s)
  }
}

/// Share of `b`'s tokens also found in `a`, by length of the unique rest (1 = all shared).
func textSimilarity(_ a: String, _ b: String) -> Double {
  func tokens(_ s: String) -> [String] {
    s.lowercased().split(whereSeparator: { !$0.isLetter && !$0.isNumber }).map(String.init)
  }
  let ta = Set(tokens(a))
  let tb = tokens(b)
  if ta.isEmpty || tb.isEmpty { return 0 }
  let unique = tb.filter { !ta.contains($0) }
  let total = tb.joined(separator: " ").count
  if total == 0 { return 0 }
  return 1 - Double(unique.joined(separator: " ").count) / Double(total)
}

/// Decodes the few HTML character references that double-escaped metadata still carries
/// (`&amp;`, `&quot;`, `&apos;`, `&lt;`, `&gt;`, numeric); invalid numbers become U+FFFD.
func decodeEntities(_ s: String) -> String {
  guard s.contains("&") else { return s }
  var out = ""
  var rest = Substring(s)
  while let amp = rest.firstIndex(of: "&") {
    out += rest[..<amp]
    let after = rest[rest.index(after: amp)...]
    guard let semi = after.prefix(12).firstIndex(of: ";") else {
      out += "&"
      rest = after
      continue
    }
    let entity = after[..<semi]
    var replacement: String? = nil
    switch entity {
    case "amp": replacement = "&"
    case "quot": replacement = "\""
    case "apos": replacement = "'"
    case "lt": replacement = "<"
    case "gt": replacement = ">"
    default:
      if entity.hasPrefix("#x") || entity.hasPrefix("#X") {
        if let v = UInt32(entity.dropFirst(2), radix: 16) {
          replacement = String(Unicode.Scalar(v).map(Character.init) ?? "\u{FFFD}")
          if v == 0 { replacement = "\u{FFFD}" }
        }
      } else if entity.hasPrefix("#") {
        if let v = UInt32(entity.dropFirst(1)) {
          replacement = String(Unicode.Scalar(v).map(Character.init) ?? "\u{FFFD}")
          if v == 0 { replacement = "\u{FFFD}" }
        }
      }
    }
    if let replacement {
      out += replacement
      rest = after[after.index(after: semi)...]
    } else {
      out += "&"
      rest = after
    }
  }
  out += rest
  return out
}

/// Resolves `raw` against `base`; nil for unusable values (javascript:, empty).
func resolveURL(_ raw: String, base: String?) -> String? {
  let t = raw.trimmingSpaces()
  if t.isEmpty || t.lowercased().hasPrefix("javascript:") { return nil }
  if t.hasPrefix("data:") { return t }
  if let b = base, let baseURL = URL(string: b), let u = URL(string: t, relativeTo: baseURL) {
    return u.absoluteString
  }
  if let u = URL(string: t), u.scheme != nil { return u.absoluteString }
  let escaped = t.addingPercentEncoding(withAllowedCharacters: .urlFragmentAllowed) ?? t
  if let b = base, let baseURL = URL(string: b), let u = URL(string: escaped, relativeTo: baseURL) {
    return u.absoluteString
  }
  return nil
}

/// "By Ana Lima" -> "Ana Lima" (metadata bylines only; a byline taken from the page keeps
/// its wording).
func stripByPrefix(_ s: String) -> String {
  for prefix in ["By ", "by ", "BY "] where s.hasPrefix(prefix) && s.count > prefix.count + 1 {
    return String(s.dropFirst(prefix.count))
  }
  return s
}
