import Foundation

/// The file name of an article in the spool: `YYYY-MM-DD-slug.md`, Jekyll's post name.
///
/// - The date is the UTC day of `publishedDateTime`.
/// - The slug is made from the title: transliterated to Latin (ICU `Any-Latin`, so
///   `Привет` -> `privet`, `中国` -> `zhong-guo`), diacritics stripped (`Crème` -> `creme`),
///   a few letters spelled out (`ß` -> `ss`, `æ` -> `ae`, `ø` -> `o`, `ł` -> `l`, `&` ->
///   `and`), lower-cased; every run of other characters becomes one `-`; no `-` at either
///   end; at most 80 characters, cut at a `-` when one is near.
/// - Never empty: a title with nothing usable gives `article-` and 8 hex digits of a hash
///   of the title (different titles, different names).
/// - So nothing from the network reaches the path unmade: the name only ever holds
///   `[a-z0-9-]`, digits and `.md`; no `/`, `..`, leading `-` or `.`, control characters.
/// - Uniqueness in the spool is the spool's job: `fileName(uniquingWith: 2)` gives
///   `YYYY-MM-DD-slug-2.md`, still within 80 slug characters.
public struct ArticleFileName: Sendable, Equatable {
  /// `YYYY-MM-DD`.
  public let date: String
  /// `[a-z0-9-]+`, 1...80 characters.
  public let slug: String

  public static let maxSlugLength = 80

  public init(title: String, published: Date) {
    date = RFC3339.day(from: published)
    slug = ArticleFileName.slug(title)
  }

  public init(_ article: Article) {
    self.init(title: article.title, published: article.published)
  }

  /// `2024-02-27-alibabas-1b-bet.md`.
  public var fileName: String { "\(date)-\(slug).md" }

  /// The name with `-N` after the slug for N >= 2 (N <= 1 gives `fileName`).
  public func fileName(uniquingWith suffix: Int) -> String {
    guard suffix > 1 else { return fileName }
    let tail = "-\(suffix)"
    var base = Substring(slug)
    if base.count + tail.count > ArticleFileName.maxSlugLength {
      base = base.prefix(ArticleFileName.maxSlugLength - tail.count)
      while base.last == "-" { base.removeLast() }
    }
    return "\(date)-\(base)\(tail).md"
  }

  static let spelledOut: [Character: String] = [
    "ß": "ss", "æ": "ae", "œ": "oe", "ø": "o", "ł": "l", "đ": "d", "ð": "d", "þ": "th",
    "ı": "i", "ħ": "h", "ŀ": "l", "&": " and ", "'": "", "’": "",
  ]

  /// The slug of a title (see the type's rules).
  public static func slug(_ title: String) -> String {
    var text = HTMLText.foldWhitespace(title)
    if text.utf8.count > 2000 { text = String(text.prefix(500)) }
    if !text.utf8.allSatisfy({ $0 < 0x80 }) {
      text = text.applyingTransform(.toLatin, reverse: false) ?? text
      text = text.applyingTransform(.stripDiacritics, reverse: false) ?? text
    }
    var out = ""
    var dash = false
    for ch in text.lowercased() {
      let piece = spelledOut[ch] ?? String(ch)
      for c in piece.unicodeScalars {
        let v = c.value
        if (v >= 0x61 && v <= 0x7A) || (v >= 0x30 && v <= 0x39) {
          if dash && !out.isEmpty { out += "-" }
          dash = false
          out.unicodeScalars.append(c)
        } else {
          dash = true
        }
      }
      if out.count >= maxSlugLength + 1 { break }
    }
    if out.count > maxSlugLength {
      var cut = Substring(out.prefix(maxSlugLength))
      if let lastDash = cut.lastIndex(of: "-"),
        cut.distance(from: cut.startIndex, to: lastDash) >= 40
      {
        cut = cut[..<lastDash]
      }
      out = String(cut)
    }
    while out.hasSuffix("-") { out.removeLast() }
    if out.isEmpty {
      var hash: UInt32 = 2_166_136_261  // FNV-1a
      for b in title.utf8 {
        hash ^= UInt32(b)
        hash = hash &* 16_777_619
      }
      let hex = String(hash, radix: 16)
      out = "article-" + String(repeating: "0", count: 8 - hex.count) + hex
    }
    return out
  }
}

extension Article {
  /// The article's file name in the spool (before uniquing).
  public var fileName: ArticleFileName { ArticleFileName(self) }
}
