import Foundation
import Synchronization

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// The file name of an article in the spool: `YYYY-MM-DD-slug.md`, Jekyll's post name.
///
/// - The date is the UTC day of `publishedDateTime`.
/// - The slug is made from the title: transliterated to Latin (ICU `Any-Latin`'s letters,
///   from a table for the common scripts: `Привет` -> `privet`, `中国` -> `zhong-guo`,
///   `한국어` -> `hangugeo`, `ニュース` -> `nyusu`), diacritics stripped (`Crème` -> `creme`),
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
    slug(title, tablePath: true)
  }

  /// `slug` with or without the table path (`tableSlug`; tests compare both).
  static func slug(_ title: String, tablePath: Bool) -> String {
    var text = HTMLText.foldWhitespace(title)
    if text.utf8.count > 2000 { text = String(text.prefix(500)) }
    var out: [UInt8] = []
    out.reserveCapacity(maxSlugLength + 8)
    if !tablePath || !tableSlug(text, into: &out) {
      out.removeAll(keepingCapacity: true)
      transliteratedSlug(text, into: &out)
    }
    if out.count > maxSlugLength {
      var cut = out.prefix(maxSlugLength)
      if let lastDash = cut.lastIndex(of: 0x2D), lastDash >= 40 {
        cut = cut[..<lastDash]
      }
      out = Array(cut)
    }
    while out.last == 0x2D { out.removeLast() }
    if out.isEmpty {
      var hash: UInt32 = 2_166_136_261  // FNV-1a
      for b in title.utf8 {
        hash ^= UInt32(b)
        hash = hash &* 16_777_619
      }
      let hex = String(hash, radix: 16)
      return "article-" + String(repeating: "0", count: 8 - hex.count) + hex
    }
    return String(decoding: out, as: UTF8.self)
  }

  /// The general path, for the scripts `SlugTable` leaves out: ICU `Any-Latin` and
  /// diacritics stripped, then lower-cased and spelled out. With `raw`, every byte
  /// `[a-z0-9]` is written and every other scalar as one `-` (a separator: how the
  /// table's pieces are made); else separators are collapsed into single dashes between
  /// letters, stopping after `maxSlugLength + 1` bytes.
  static func transliteratedSlug(_ folded: String, into out: inout [UInt8], raw: Bool = false) {
    var text = folded
    if !text.utf8.allSatisfy({ $0 < 0x80 }) {
      text = ICUTransliterators.toLatinStripped(text)
    }
    var dash = false
    for ch in text.lowercased() {
      let piece = spelledOut[ch] ?? String(ch)
      for c in piece.unicodeScalars {
        if raw {
          let v = c.value
          let alnum = (v >= 0x61 && v <= 0x7A) || (v >= 0x30 && v <= 0x39)
          out.append(alnum ? UInt8(v) : 0x2D)
        } else {
          append(c.value, to: &out, dash: &dash)
        }
      }
      if !raw && out.count >= maxSlugLength + 1 { break }
    }
  }

  @inline(__always)
  static func append(_ v: UInt32, to out: inout [UInt8], dash: inout Bool) {
    if (v >= 0x61 && v <= 0x7A) || (v >= 0x30 && v <= 0x39) {
      if dash && !out.isEmpty { out.append(0x2D) }
      dash = false
      out.append(UInt8(v))
    } else {
      dash = true
    }
  }

  /// The table path: every scalar from `SlugTable` (or Hangul's jamo), with kana's few
  /// rules of context; a scalar that is neither in the table nor a letter or digit (an
  /// emoji, a symbol) separates words. False when a letter or digit of another script
  /// needs ICU (`out` is then undefined). Same output as `transliteratedSlug` for Latin
  /// titles; for the other scripts, ICU's letters scalar by scalar, Han characters as
  /// words of their own, full-width Latin letters and digits as ASCII.
  static func tableSlug(_ text: String, into out: inout [UInt8]) -> Bool {
    var dash = false
    var nonASCII = false
    for u in text.utf8 {
      if u >= 0x80 {
        nonASCII = true
        break
      }
      appendASCII(UInt32(u), to: &out, dash: &dash)
      if out.count > maxSlugLength { return true }
    }
    if !nonASCII { return true }
    out.removeAll(keepingCapacity: true)
    dash = false
    var doubleNext = false  // after a small tsu: the next consonant is doubled
    for s in text.unicodeScalars {
      let v = s.value
      if v < 0x80 {
        appendASCII(v, to: &out, dash: &dash)
      } else if v >= 0xFF01 && v <= 0xFF5E {  // full-width ASCII (ICU keeps it as it is)
        appendASCII(v - 0xFEE0, to: &out, dash: &dash)
      } else if let (l, m, f) = SlugTable.hangul(v) {
        for b in l.utf8 { append(UInt32(b), to: &out, dash: &dash) }
        for b in m.utf8 { append(UInt32(b), to: &out, dash: &dash) }
        for b in f.utf8 { append(UInt32(b), to: &out, dash: &dash) }
      } else if let kana = Kana(v) {
        switch kana {
        case .smallTsu:
          doubleNext = true
          continue
        case .prolonged:
          break
        case .smallY(let vowel):
          // ki + ya: kya; shi, chi, ji + ya: sha, cha, ja.
          if !dash && out.last == 0x69 {
            out.removeLast()
            if out.last != 0x68 && out.last != 0x6A { out.append(0x79) }
          } else {
            append(0x79, to: &out, dash: &dash)
          }
          append(vowel, to: &out, dash: &dash)
        case .smallVowel(let vowel):
          // fu + a: fa; te + i: ti; the vowel replaces the one before it.
          if !dash, let last = out.last, Kana.isVowel(last) { out.removeLast() }
          append(vowel, to: &out, dash: &dash)
        }
      } else if let (piece, word) = SlugTable.piece(v) {
        if word { dash = true }
        for b in piece {
          if b == 0x2D {
            dash = true
            continue
          }
          if doubleNext && !Kana.isVowel(b) { append(UInt32(b), to: &out, dash: &dash) }
          doubleNext = false
          append(UInt32(b), to: &out, dash: &dash)
        }
        if word { dash = true }
      } else if s.properties.isAlphabetic || s.properties.numericType != nil {
        return false
      } else {
        dash = true
      }
      doubleNext = false
      if out.count > maxSlugLength { return true }
    }
    return true
  }

  /// An ASCII scalar: letters lower-cased, `&` spelled `and`, `'` dropped, every other
  /// character outside `[a-z0-9]` a separator.
  @inline(__always)
  static func appendASCII(_ v: UInt32, to out: inout [UInt8], dash: inout Bool) {
    switch v {
    case 0x41...0x5A: append(v | 0x20, to: &out, dash: &dash)
    case 0x26:  // "&" -> " and "
      dash = true
      for c in "and".utf8 { append(UInt32(c), to: &out, dash: &dash) }
      dash = true
    case 0x27: break  // "'" is dropped, not a separator
    default: append(v, to: &out, dash: &dash)
    }
  }

  /// The kana whose reading depends on their neighbours.
  enum Kana {
    case smallTsu, prolonged
    case smallY(UInt32)
    case smallVowel(UInt32)

    init?(_ v: UInt32) {
      switch v {
      case 0x3063, 0x30C3: self = .smallTsu
      case 0x30FC: self = .prolonged  // a long vowel: its macron is stripped anyway
      case 0x3083, 0x30E3: self = .smallY(0x61)
      case 0x3085, 0x30E5: self = .smallY(0x75)
      case 0x3087, 0x30E7: self = .smallY(0x6F)
      case 0x3041, 0x30A1: self = .smallVowel(0x61)
      case 0x3043, 0x30A3: self = .smallVowel(0x69)
      case 0x3045, 0x30A5: self = .smallVowel(0x75)
      case 0x3047, 0x30A7: self = .smallVowel(0x65)
      case 0x3049, 0x30A9: self = .smallVowel(0x6F)
      default: return nil
      }
    }

    static func isVowel(_ b: UInt8) -> Bool {
      b == 0x61 || b == 0x65 || b == 0x69 || b == 0x6F || b == 0x75
    }
  }
}

extension Article {
  /// The article's file name in the spool (before uniquing).
  public var fileName: ArticleFileName { ArticleFileName(self) }
}

/// Foundation's `.toLatin` and `.stripDiacritics` transforms (the same ICU transliterator
/// ids as swift-corelibs-foundation's CFStringTransform), with the two transliterators
/// opened once for the process: through Foundation, `applyingTransform` cost more per
/// title than the rest of an article together.
///
/// ICU is the copy Foundation already loaded (its symbols are looked up at run time, so
/// no link dependency); when they cannot be found this falls back to Foundation.
final class ICUTransliterators: @unchecked Sendable {
  typealias OpenU =
    @convention(c) (
      UnsafePointer<UInt16>?, Int32, Int32, UnsafePointer<UInt16>?, Int32,
      UnsafeMutableRawPointer?, UnsafeMutablePointer<Int32>?
    ) -> OpaquePointer?
  typealias TransUChars =
    @convention(c) (
      OpaquePointer?, UnsafeMutablePointer<UInt16>?, UnsafeMutablePointer<Int32>?, Int32, Int32,
      UnsafeMutablePointer<Int32>?, UnsafeMutablePointer<Int32>?
    ) -> Void

  /// ICU transliterators are not safe to use from two threads at once.
  private let lock = Mutex(())
  private let latin: OpaquePointer
  private let strip: OpaquePointer
  private let trans: TransUChars

  private init?() {
    guard let handle = dlopen(nil, RTLD_NOW),
      let o = dlsym(handle, "swift_utrans_openU") ?? dlsym(handle, "utrans_openU"),
      let t = dlsym(handle, "swift_utrans_transUChars") ?? dlsym(handle, "utrans_transUChars")
    else { return nil }
    let openU = unsafeBitCast(o, to: OpenU.self)
    func open(_ id: String) -> OpaquePointer? {
      var err: Int32 = 0
      let u = Array(id.utf16)
      let r = openU(u, Int32(u.count), 0, nil, 0, nil, &err)  // 0: UTRANS_FORWARD
      return err > 0 ? nil : r  // > 0: an ICU failure
    }
    guard let l = open("Any-Latin"),
      let s = open(
        "NFD; [[[:Mn:]&[:Diacritic:]]-[:Grapheme_Link:]-[:ccc=0:]-[:ccc=8:]-[\\u0338]] Remove; NFC")
    else { return nil }
    latin = l
    strip = s
    trans = unsafeBitCast(t, to: TransUChars.self)
  }

  static let shared = ICUTransliterators()

  /// `s` to Latin with diacritics stripped, as Foundation's two transforms give it.
  static func toLatinStripped(_ s: String) -> String {
    guard let shared, let out = shared.run(s) else { return foundationToLatinStripped(s) }
    return out
  }

  /// The same through Foundation (a transliterator opened per call).
  static func foundationToLatinStripped(_ s: String) -> String {
    let l = s.applyingTransform(.toLatin, reverse: false) ?? s
    return l.applyingTransform(.stripDiacritics, reverse: false) ?? l
  }

  private func run(_ s: String) -> String? {
    let src = Array(s.utf16)
    var capacity = src.count * 4 + 32
    for _ in 0..<4 {
      var buf = src
      buf.append(contentsOf: repeatElement(0, count: capacity - src.count))
      var len = Int32(src.count)
      var err: Int32 = 0
      lock.withLock { _ in
        var limit = len
        trans(latin, &buf, &len, Int32(capacity), 0, &limit, &err)
        if err <= 0 {
          limit = len
          trans(strip, &buf, &len, Int32(capacity), 0, &limit, &err)
        }
      }
      if err == 15 {  // U_BUFFER_OVERFLOW_ERROR: len is what it needed
        capacity = max(capacity * 2, Int(len) + 32)
        continue
      }
      if err > 0 { return nil }
      return String(decoding: buf[0..<Int(len)], as: UTF16.self)
    }
    return nil
  }
}
