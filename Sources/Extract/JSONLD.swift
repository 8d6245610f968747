import Foundation

/// What a page's JSON-LD says about its article.
struct JSONLDArticle {
  var headline: String?
  var name: String?
  var authors: [String] = []
  var description: String?
  var datePublished: String?
  var publisherName: String?
  var url: String?
  var images: [String] = []
  var inLanguage: String?
  /// False when only a WebPage-like object was found (its name is often the <title>).
  var isArticle = true

  /// schema.org types that describe an article-like creative work.
  static let articleTypes: Set<String> = [
    "Article", "AdvertiserContentArticle", "NewsArticle", "AnalysisNewsArticle",
    "AskPublicNewsArticle", "BackgroundNewsArticle", "OpinionNewsArticle",
    "ReportageNewsArticle", "ReviewNewsArticle", "Report", "SatiricalArticle",
    "ScholarlyArticle", "MedicalScholarlyArticle", "SocialMediaPosting", "BlogPosting",
    "LiveBlogPosting", "DiscussionForumPosting", "TechArticle", "APIReference", "Blog",
    "WebPage", "ItemPage", "Recipe", "VideoObject",
  ]
  /// Types accepted only when no real article type is found.
  static let weakTypes: Set<String> = ["WebPage", "ItemPage", "Blog", "Recipe", "VideoObject"]

  /// Parses every `<script type="application/ld+json">` body given and returns the best
  /// article object found: a real article type beats a web page; `@graph` and top-level
  /// arrays are searched (bounded: at most 2,000 objects visited per script).
  /// Scripts larger than this are not read.
  static let maxScriptBytes = 1 << 20

  static func find(in scripts: [String]) -> JSONLDArticle? {
    var best: [String: Any]? = nil
    var bestIsStrong = false
    var publisherFallback: String? = nil
    // JSONSerialization takes about a hundred times a script's size in objects: a 7.9 MB
    // `@graph` took 735 MB. Article metadata fits in far less than a MiB.
    for raw in scripts where raw.utf8.count <= maxScriptBytes {
      var body = raw.trimmingSpaces()
      if body.hasPrefix("<!--") { body.removeFirst(4) }
      if body.hasPrefix("<![CDATA[") { body.removeFirst(9) }
      if body.hasSuffix("-->") { body.removeLast(3) }
      if body.hasSuffix("]]>") { body.removeLast(3) }
      guard let data = body.data(using: .utf8),
        let json = try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
      else { continue }
      var queue: [Any] = [json]
      var visited = 0
      while !queue.isEmpty && visited < 2000 {
        let item = queue.removeFirst()
        visited += 1
        if let array = item as? [Any] {
          queue.append(contentsOf: array)
          continue
        }
        guard let object = item as? [String: Any] else { continue }
        if let graph = object["@graph"] as? [Any] { queue.append(contentsOf: graph) }
        if let main = object["mainEntity"] as? [String: Any] { queue.append(main) }
        let types = typeNames(object["@type"])
        if types.contains("Organization") || types.contains("NewsMediaOrganization")
          || types.contains("WebSite")
        {
          if publisherFallback == nil, let n = string(object["name"]) {
            publisherFallback = n
          }
        }
        let matched = types.filter { articleTypes.contains($0) }
        if matched.isEmpty { continue }
        let strong = matched.contains { !weakTypes.contains($0) }
        if best == nil || (strong && !bestIsStrong) {
          best = object
          bestIsStrong = strong
        }
      }
      if bestIsStrong { break }
    }
    guard let object = best else { return nil }
    var out = JSONLDArticle()
    out.isArticle = bestIsStrong
    out.headline = string(object["headline"])
    out.name = string(object["name"])
    out.authors = personNames(object["author"])
    if out.authors.isEmpty { out.authors = personNames(object["creator"]) }
    out.description = string(object["description"])
    out.datePublished = string(object["datePublished"]) ?? string(object["dateCreated"])
    if let publisher = object["publisher"] {
      out.publisherName = personNames(publisher).first
    }
    if out.publisherName == nil, bestIsStrong == false { out.publisherName = publisherFallback }
    if out.publisherName == nil, let site = object["isPartOf"] as? [String: Any] {
      out.publisherName = string(site["name"])
    }
    out.url = string(object["url"]) ?? string(object["mainEntityOfPage"])
    out.images = imageURLs(object["image"]) + imageURLs(object["thumbnailUrl"])
    out.inLanguage = string(object["inLanguage"])
    return out
  }

  static func typeNames(_ value: Any?) -> [String] {
    var raw: [String] = []
    if let s = value as? String {
      raw = [s]
    } else if let a = value as? [Any] {
      raw = a.compactMap { $0 as? String }
    }
    // "http://schema.org/NewsArticle" and "schema:NewsArticle" name the same type.
    return raw.map { t in
      if let slash = t.lastIndex(where: { $0 == "/" || $0 == ":" || $0 == "#" }) {
        return String(t[t.index(after: slash)...])
      }
      return t
    }
  }

  static func string(_ value: Any?) -> String? {
    if let s = value as? String {
      let t = s.trimmingSpaces()
      return t.isEmpty ? nil : t
    }
    if let a = value as? [Any], let first = a.first { return string(first) }
    if let o = value as? [String: Any] {
      return string(o["@value"]) ?? string(o["@id"])
    }
    return nil
  }

  /// Names of a person or organization value: a string, an object with `name`, or an
  /// array of either.
  static func personNames(_ value: Any?) -> [String] {
    if let s = value as? String {
      let t = foldWhitespace(s)
      if t.isEmpty || looksLikeURL(t) { return [] }
      return [t]
    }
    if let o = value as? [String: Any] {
      if let n = o["name"] as? String {
        let t = foldWhitespace(n)
        return t.isEmpty ? [] : [t]
      }
      if let n = o["name"] { return personNames(n) }
      return []
    }
    if let a = value as? [Any] {
      var out: [String] = []
      for v in a.prefix(20) {
        for n in personNames(v) where !out.contains(n) { out.append(n) }
      }
      return out
    }
    return []
  }

  static func imageURLs(_ value: Any?) -> [String] {
    if let s = value as? String { return [s] }
    if let o = value as? [String: Any] {
      if let u = o["url"] as? String { return [u] }
      if let u = o["contentUrl"] as? String { return [u] }
      return []
    }
    if let a = value as? [Any] { return a.prefix(10).flatMap { imageURLs($0) } }
    return []
  }
}

func looksLikeURL(_ s: String) -> Bool {
  s.hasPrefix("http://") || s.hasPrefix("https://") || s.hasPrefix("//")
    || (s.hasPrefix("www.") && !s.contains(" "))
}
