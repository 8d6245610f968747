import TestSupport
import Testing

@testable import Articles

/// Every fast path gives exactly what the general path gives, on generated inputs.
@Suite struct FastPathTests {
  static let textPieces = [
    "a", "Z", "é", "É", "ß", "ẞ", "Æ", "ø", "ł", "İ", "ı", "ǅ", "ŉ", "Ł", "Ørsted", "Crème brûlée",
    "e\u{301}", "\u{301}", "&", "'", "’", "“", "”", "–", "—", "…", "€", "½", "²", "×", "©",
    " ", "  ", "\t", "\n", "\r\n", "\u{0B}", "\u{7F}", "\u{80}", "\u{85}", "\u{9F}", "\u{A0}",
    "\u{AD}", "\u{FEFF}", "\u{200B}", "\u{200D}", "\u{2028}", "\u{3000}", "Привет", "中国",
    "日本語", "שלום", "Ελλάδα", "🚀", "👩‍💻", "1.5", "x-y", "--", "_", "/", "..", "Ĳ", "ǈ", "ﬁ",
    "Straße", "Ærø", "Đà Nẵng", "Łódź", "Þór", "Ħamrun", "Ŀ", "ð", "œuvre", "Ğ", "ș", "ț",
  ]

  static func randomText(_ rng: inout SplitMix64, maxPieces: Int) -> String {
    var s = ""
    for _ in 0..<Int.random(in: 0...maxPieces, using: &rng) {
      s += textPieces.randomElement(using: &rng)!
    }
    return s
  }

  @Test func foldWhitespaceBytesMatchesScalars() {
    var rng = SplitMix64(state: 11)
    for _ in 0..<5000 {
      let s = FastPathTests.randomText(&rng, maxPieces: 12)
      #expect(
        HTMLText.foldWhitespace(s) == HTMLText.foldWhitespaceScalars(s), "\(s.debugDescription)")
    }
    for s in ["", " ", "a", " a", "a ", "a  b", "a b", "a\u{A0}b", "\u{FEFF}", "a\u{85}b"] {
      #expect(HTMLText.foldWhitespace(s) == HTMLText.foldWhitespaceScalars(s))
    }
  }

  /// Every scalar the excerpt's scalar path accepts is a grapheme cluster of its own next
  /// to any other accepted scalar (Swift's own segmentation decides).
  @Test func ownGraphemeScalarsNeverJoinTheirNeighbours() {
    var checked = 0
    for v in UInt32(0)...0xFFFF {
      guard let u = Unicode.Scalar(v), HTMLText.isOwnGrapheme(u) else { continue }
      let x = String(u)
      for s in ["a\(x)b", "\(x)\(x)", "中\(x)’", "\(x)ä", "Я\(x)ア", "\(x) \(x)"] {
        #expect(s.count == s.unicodeScalars.count, "U+\(String(v, radix: 16))")
      }
      checked += 1
    }
    #expect(checked > 20_000)
  }

  /// The excerpt's scalar path cuts where the character path cuts.
  @Test func excerptScalarPathMatchesCharacters() {
    var rng = SplitMix64(state: 23)
    var taken = 0
    for round in 0..<6000 {
      let maxLength = [12, 40, 300][round % 3]
      let raw = FastPathTests.randomText(&rng, maxPieces: maxLength / 2 + 20)
      let folded = HTMLText.foldWhitespace(raw)
      guard folded.utf8.count > maxLength else { continue }
      guard let simple = HTMLText.excerptSimple(folded, maxLength: maxLength) else { continue }
      taken += 1
      #expect(
        simple == HTMLText.excerptCharacters(folded, maxLength: maxLength),
        "\(folded.debugDescription) at \(maxLength)")
    }
    #expect(taken > 100)
  }

  /// Latin letters, accents, Latin-1 symbols, punctuation and currency signs: scalars
  /// whose ICU transliteration does not depend on their neighbours.
  static func isLatinContextFree(_ v: UInt32) -> Bool {
    switch v {
    case 0xA0...0x24F, 0x300...0x337, 0x339...0x34E, 0x350...0x357, 0x35D...0x362,
      0x1E00...0x1EFF, 0x2010...0x2027, 0x2030...0x205F, 0x20A0...0x20C0:
      return true
    default:
      return false
    }
  }

  /// For Latin, the slug table (ICU scalar by scalar) gives the same slug as ICU on the
  /// whole title, for every context-free scalar in contexts that would show a difference
  /// (after a letter that is spelled out, between letters, repeated, after an accent).
  @Test func latinSlugMatchesTransliterationForEveryContextFreeScalar() {
    var checked = 0
    for v in UInt32(0x80)...0x20C0 where FastPathTests.isLatinContextFree(v) {
      guard let s = Unicode.Scalar(v) else { continue }
      let x = String(s)
      for title in ["a\(x)b", "Ab\(x)\(x)Z", "ß\(x)", "&\(x)", "'\(x)y", "\(x)", "e\u{301}\(x)1"] {
        let fast = ArticleFileName.slug(title, tablePath: true)
        let slow = ArticleFileName.slug(title, tablePath: false)
        #expect(fast == slow, "U+\(String(v, radix: 16)) in \(title.debugDescription)")
      }
      checked += 1
    }
    #expect(checked > 850)
  }

  @Test func latinSlugMatchesTransliterationOnGeneratedTitles() {
    var rng = SplitMix64(state: 5)
    let latin = FastPathTests.textPieces.filter {
      $0.unicodeScalars.allSatisfy { $0.value < 0x80 || FastPathTests.isLatinContextFree($0.value) }
    }
    #expect(latin.count > 50)
    for _ in 0..<3000 {
      var t = ""
      for _ in 0..<Int.random(in: 0...40, using: &rng) { t += latin.randomElement(using: &rng)! }
      #expect(
        ArticleFileName.slug(t, tablePath: true)
          == ArticleFileName.slug(t, tablePath: false), "\(t.debugDescription)")
    }
    // Long titles are cut the same way.
    let long = String(repeating: "Crème brûlée à la Ørsted & co ", count: 20)
    #expect(
      ArticleFileName.slug(long, tablePath: true)
        == ArticleFileName.slug(long, tablePath: false))
    #expect(
      ArticleFileName.slug("Crème brûlée: l'Ørsted & Straße") == "creme-brulee-lorsted-and-strasse")
    #expect(ArticleFileName.slug("Привет, мир") == "privet-mir")
  }

  /// Every entry of the generated slug table is what ICU gives for that scalar alone
  /// (the general path, `raw`), and every Hangul syllable is its three jamo.
  @Test func slugTableIsICUScalarByScalar() {
    var checked = 0
    for r in SlugTable.ranges {
      for v in r.first...r.last {
        guard let s = Unicode.Scalar(v), let (piece, _) = SlugTable.piece(v) else {
          Issue.record("U+\(String(v, radix: 16)) missing")
          continue
        }
        var icu: [UInt8] = []
        ArticleFileName.transliteratedSlug(String(s), into: &icu, raw: true)
        #expect(Array(piece) == icu, "U+\(String(v, radix: 16))")
        checked += 1
      }
    }
    #expect(checked == 31_328)
    for v in UInt32(0xAC00)...0xD7A3 where v % 7 == 0 {
      guard let (l, m, f) = SlugTable.hangul(v) else { continue }
      var icu: [UInt8] = []
      ArticleFileName.transliteratedSlug(String(Unicode.Scalar(v)!), into: &icu, raw: true)
      #expect(Array((l + m + f).utf8) == icu, "U+\(String(v, radix: 16))")
    }
    #expect(SlugTable.piece(0x9F) == nil && SlugTable.piece(0x0E01) == nil)  // C1, Thai
  }

  /// The excerpt as first written: the whole text split into characters.
  static func referenceExcerpt(_ text: String, maxLength: Int) -> String {
    let folded = HTMLText.foldWhitespaceScalars(text)
    let chars = Array(folded)
    guard chars.count > maxLength, maxLength > 1 else { return folded }
    let sentenceEnds: Set<Character> = [".", "!", "?", "。", "！", "？", "…"]
    var k = maxLength - 1
    while k >= maxLength / 2 {
      if sentenceEnds.contains(chars[k]) {
        let cjk = chars[k] == "。" || chars[k] == "！" || chars[k] == "？"
        if cjk || (k + 1 < chars.count && chars[k + 1] == " ") { return String(chars[...k]) }
      }
      k -= 1
    }
    var cut = maxLength - 1
    while cut > 0 && chars[cut] != " " { cut -= 1 }
    if cut < maxLength / 2 { cut = maxLength - 1 }
    var head = String(chars[..<cut])
    while let last = head.last,
      last == " " || last == "," || last == ";" || last == ":" || last == "-" || last == "–"
        || last == "—"
    {
      head.removeLast()
    }
    return head + "…"
  }

  @Test func excerptMatchesReference() {
    var rng = SplitMix64(state: 9)
    let extra = [". ", "! ", "。", "？", "word ", "longerword", ", ", " - ", "— "]
    for _ in 0..<3000 {
      var t = ""
      for _ in 0..<Int.random(in: 0...80, using: &rng) {
        t += (FastPathTests.textPieces + extra).randomElement(using: &rng)!
      }
      for m in [0, 1, 2, 10, 80, 300] {
        #expect(
          HTMLText.excerpt(fromText: t, maxLength: m)
            == FastPathTests.referenceExcerpt(t, maxLength: m), "\(m) \(t.debugDescription)")
      }
    }
  }

  @Test func asciiExcerptMatchesReference() {
    var rng = SplitMix64(state: 23)
    let pieces = [
      "word ", "longerword", ". ", "! ", "? ", "?", ".", ", ", " - ", ": ", "; ", "x", " ", "-",
    ]
    for _ in 0..<3000 {
      var t = ""
      for _ in 0..<Int.random(in: 0...150, using: &rng) { t += pieces.randomElement(using: &rng)! }
      // Sometimes a mark or a non-ASCII letter right after the cut.
      if Bool.random(using: &rng) {
        let at = t.utf8.count > 0 ? Int.random(in: 0..<t.utf8.count, using: &rng) : 0
        let head = String(decoding: t.utf8.prefix(at), as: UTF8.self)
        let tail = String(decoding: t.utf8.dropFirst(at), as: UTF8.self)
        t = head + ["\u{301}", "é", "—", "。"].randomElement(using: &rng)! + tail
      }
      for m in [2, 10, 79, 80, 81, 300] {
        #expect(
          HTMLText.excerpt(fromText: t, maxLength: m)
            == FastPathTests.referenceExcerpt(t, maxLength: m), "\(m) \(t.debugDescription)")
      }
    }
  }

  @Test func oneParseGivesTheSameBodyAndText() {
    var rng = SplitMix64(state: 13)
    let texts = PropertyTests.texts + ["&amp;", "&nbsp;", "&#x1F680;", "Crème", "a\u{A0}b", ""]
    for _ in 0..<1000 {
      var html = ""
      var open: [String] = []
      for _ in 0..<Int.random(in: 0...20, using: &rng) {
        switch Int.random(in: 0..<3, using: &rng) {
        case 0:
          let t = PropertyTests.tags.randomElement(using: &rng)!
          html += "<\(t)>"
          open.append(String(t.prefix { $0 != " " }))
        case 1 where !open.isEmpty:
          html += "</\(open.removeLast())>"
        default:
          html += texts.randomElement(using: &rng)!
        }
      }
      let base = "https://example.com/dir/"
      let both = MarkdownConverter.convertWithPlainText(html: html, baseURL: base)
      #expect(both.conversion == MarkdownConverter.convert(html: html, baseURL: base))
      #expect(both.plainText == HTMLText.plainText(fromHTML: html), "\(html.debugDescription)")
    }
  }

  /// The transliterators opened once give what Foundation's per-call ones give, in every
  /// script the slugs meet, and on text that grows past the first buffer (Han to pinyin).
  @Test func cachedTransliteratorsMatchFoundation() {
    #expect(ICUTransliterators.shared != nil)
    var rng = SplitMix64(state: 17)
    var samples = [
      "", "Crème brûlée", "Привет, мир", "中国", "日本語のテキスト", "한국어 뉴스", "Ελλάδα: ένας οδηγός",
      "שלום עולם", "مرحبا بالعالم", "हिन्दी", "ไทย", "Ǆ İ ß ẞ", "🚀 ✔️ → 👩‍💻", "a\u{338}b ø\u{34F}",
      "ЩУКА щука Ъ",
      String(repeating: "经济发展", count: 60), String(repeating: "Ωμέγα ", count: 40),
    ]
    for _ in 0..<300 { samples.append(FastPathTests.randomText(&rng, maxPieces: 15)) }
    // Every combining mark below U+3000 after a letter: which ones are diacritics to strip.
    for v in UInt32(0x300)..<0x3000 {
      guard let u = Unicode.Scalar(v) else { continue }
      switch u.properties.generalCategory {
      case .nonspacingMark, .spacingMark, .enclosingMark: samples.append("o\(u)ø\(u)")
      default: break
      }
    }
    for s in samples {
      #expect(
        ICUTransliterators.toLatinStripped(s) == ICUTransliterators.foundationToLatinStripped(s),
        "\(s.debugDescription)")
    }
  }

  @Test func quotedBytesMatchScalars() {
    var rng = SplitMix64(state: 21)
    let pieces =
      FastPathTests.textPieces + [
        "\"", "\\", "\u{0}", "\u{1}", "\u{1F}", "\u{2029}", "\u{FFFE}", "\u{FFFF}", "\u{FEFF}",
        "\u{9F}", "\u{C2}", "\u{2027}", "\u{FFFD}", "#", ": ", "{{ x }}",
      ]
    for _ in 0..<5000 {
      var s = ""
      for _ in 0..<Int.random(in: 0...12, using: &rng) { s += pieces.randomElement(using: &rng)! }
      #expect(FrontMatter.quoted(s) == FrontMatter.quotedScalars(s), "\(s.debugDescription)")
    }
  }
}
