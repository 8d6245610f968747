/// Finds the main content of a page by scoring text blocks.
///
/// How it works, in order:
/// 1. **Strip**: scripts, styles, embedded frames, forms controls, SVG and templates are
///    dropped, and so is everything hidden (`hidden`, `aria-hidden=true`,
///    `display:none`, `visibility:hidden`) and everything whose ARIA role is navigation,
///    a menu, a dialog or complementary.
/// 2. **Byline**: the first short element that names the author (rel/itemprop author,
///    class `byline`...) is remembered and taken out of the body.
/// 3. **Unlikely**: elements whose class/id says navigation, comments, share bar, related
///    articles, footer, cookie banner, newsletter... are dropped unless the class/id also
///    says content (article, post, body, story...) or they are the page's `<main>`,
///    `<article>` or `<body>`.
/// 4. **Score**: every paragraph-like block (p, pre, td, h2-h6, a div with only inline
///    content, the inline text run of a div with block children) of 25+ characters
///    earns 1 + its commas + one point per 100 characters (at most 3). The score goes to
///    its ancestors: all of it to the parent, half to the grandparent, a third of the
///    level to the levels above (5 levels). Candidates start from their tag (div +5,
///    blockquote/pre/td +3, lists and forms -3, headings -5) and their class/id (+-25;
///    the plus only once the block earned 3 points from text of its own), and their
///    total is scaled by (1 - link density).
/// 5. **Pick**: the best candidate; when several near-equal candidates share an ancestor,
///    that ancestor; a parent whose score keeps up is climbed to.
/// 6. **Merge siblings**: siblings of the pick join when they score at least a fifth of
///    it, or are paragraphs with little link text.
/// 7. **Clean**: inside the content, lists, tables, divs and forms that look like link
///    farms, image strips, share bars or widgets are dropped (keeping data tables,
///    figures and code), so are asides, footers, empty blocks, caption-sized blocks
///    repeated word for word, and the heading that repeats the title.
///
/// Before step 3, and in every attempt, page parts named by a class/id token as
/// comments, share bars, related/recommended lists, newsletters, cookie banners, author
/// bios, sidebars or footers are dropped (`isStronglyUnlikely`), and so are short
/// byline/date lines.
///
/// When the result is short (under 500 characters) the search runs again with fewer
/// filters (first without step 3, then without class weights, then without step 7) and
/// the longest result wins.
struct ContentFinder {
  var tree: PageTree
  let title: String

  // Per-node statistics, recomputed after each mutation phase.
  var textLen: [Int] = []
  var linkLen: [Int] = []
  var commas: [Int] = []
  var hasBlockChild: [Bool] = []
  var textNodeLength: [Int] = []
  var textNodeCommas: [Int] = []
  /// Per node, fixed once the tree is built: an `a` element, a block element.
  var isLink: [Bool] = []
  var isBlock: [Bool] = []
  /// `tree.removed` when the statistics were last computed. Removals are the only change
  /// a tree sees, so equal arrays mean the statistics still hold (the copy shares its
  /// storage until the next removal, which makes the check free when nothing changed).
  var statsFor: [Bool]? = nil

  /// Byline found in the page body (only looked for when metadata had none).
  var bodyByline: String? = nil

  struct Flags: OptionSet {
    let rawValue: Int
    static let stripUnlikely = Flags(rawValue: 1)
    static let weightClasses = Flags(rawValue: 2)
    static let cleanConditionally = Flags(rawValue: 4)
    static let all: Flags = [.stripUnlikely, .weightClasses, .cleanConditionally]
  }

  init(tree: PageTree, title: String) {
    self.tree = tree
    self.title = title
  }

  static let blockTags: Set<String> = [
    "address", "article", "aside", "blockquote", "dd", "div", "dl", "dt", "fieldset",
    "figure", "figcaption", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header",
    "hr", "li", "main", "nav", "ol", "p", "pre", "section", "table", "ul", "tr", "td", "th",
    "tbody", "thead", "tfoot", "details", "summary", "menu", "center", "caption",
  ]

  static let junkTags: Set<String> = [
    "script", "style", "noscript", "iframe", "frame", "frameset", "object", "embed", "svg",
    "canvas", "template", "link", "meta", "button", "input", "select", "textarea", "option",
    "dialog", "head", "math", "applet", "audio", "video", "source", "track", "map",
  ]

  // MARK: - Statistics

  /// Text length, link text length, commas and block children for every live node.
  /// Children always have larger indices than their parent (the tree is built top-down),
  /// so one backwards pass sums subtrees.
  mutating func computeStats() {
    let n = tree.count
    if textNodeLength.count != n { measureTextNodes() }
    if let s = statsFor, s == tree.removed { return }
    statsFor = tree.removed
    textLen = Array(repeating: 0, count: n)
    linkLen = Array(repeating: 0, count: n)
    commas = Array(repeating: 0, count: n)
    hasBlockChild = Array(repeating: false, count: n)
    var i = n - 1
    while i >= 0 {
      defer { i -= 1 }
      if tree.removed[i] { continue }
      if tree.kind[i] == .text {
        textLen[i] = textNodeLength[i]
        commas[i] = textNodeCommas[i]
      } else if isLink[i] {
        linkLen[i] = textLen[i]
      }
      let p = tree.parent[i]
      if p >= 0 {
        textLen[p] += textLen[i]
        linkLen[p] += linkLen[i]
        commas[p] += commas[i]
        if isBlock[i] { hasBlockChild[p] = true }
      }
    }
  }

  /// Length (whitespace runs count one) and commas of every text node, once: text never
  /// changes, only which nodes are live.
  mutating func measureTextNodes() {
    let n = tree.count
    textNodeLength = Array(repeating: 0, count: n)
    textNodeCommas = Array(repeating: 0, count: n)
    isLink = (0..<n).map { tree.kind[$0] == .element && tree.name[$0] == "a" }
    isBlock = (0..<n).map {
      tree.kind[$0] == .element && ContentFinder.blockTags.contains(tree.name[$0])
    }
    for i in 0..<n where tree.kind[i] == .text {
      var length = 0
      var c = 0
      var inSpace = false
      for ch in tree.text[i].unicodeScalars {
        if isSpace(ch) {
          if !inSpace { length += 1 }
          inSpace = true
        } else {
          length += 1
          inSpace = false
          switch ch.value {
          case 0x2C, 0xFF0C, 0x3001, 0x060C, 0xFE50, 0xFE10, 0xFE11, 0x2E41, 0x2E34, 0x2E32:
            c += 1
          default: break
          }
        }
      }
      textNodeLength[i] = length
      textNodeCommas[i] = c
    }
  }

  func linkDensity(_ i: Int) -> Double {
    textLen[i] == 0 ? 0 : Double(linkLen[i]) / Double(textLen[i])
  }

  // MARK: - Class/id signals

  static let unlikelyWords = [
    "-ad-", "ad-break", "adsense", "advert", "agegate", "ai2html", "banner", "breadcrumb",
    "combx", "comment", "community", "consent", "cookie", "cover-wrap", "disqus", "extra",
    "footer", "gdpr", "header", "legends", "menu", "modal", "navbar", "newsletter",
    "outbrain", "pager", "pagination", "popup", "promo", "recommend", "related", "remark",
    "replies", "rss", "share", "sharing", "shoutbox", "sidebar", "signup", "skyscraper",
    "social", "sponsor", "subscribe", "supplemental", "taboola", "tags", "toolbar",
    "trending", "widget", "yom-remote", "author-bio", "authorbio", "about-author",
    "author-info", "more-stories", "most-popular", "mostpopular", "login", "masthead",
    "skip-link",
  ]
  static let maybeWords = [
    "and", "article", "body", "column", "content", "main", "shadow", "post", "entry",
    "story", "text", "hentry",
  ]
  static let negativeWords = [
    "-ad-", "banner", "combx", "comment", "com-", "contact", "footer", "gdpr", "masthead",
    "media", "meta", "outbrain", "promo", "related", "scroll", "share", "shoutbox",
    "sidebar", "skyscraper", "sponsor", "shopping", "tags", "widget", "social", "byline",
    "author", "subscribe", "newsletter", "recommend", "nav", "breadcrumb", "hidden",
  ]
  static let positiveWords = [
    "article", "body", "content", "entry", "hentry", "h-entry", "main", "page",
    "pagination", "post", "text", "blog", "story", "prose", "markdown",
  ]

  static func containsAny(_ s: String, _ words: [String]) -> Bool {
    if s.isEmpty { return false }
    var s = s
    return s.withUTF8 { hay in
      for w in words where bytesContain(hay, w) { return true }
      return false
    }
  }

  func classWeight(_ i: Int, _ flags: Flags) -> Int {
    guard flags.contains(.weightClasses) else { return 0 }
    var weight = 0
    let cls = (tree.attr(i, "class") ?? "").lowercased()
    let id = (tree.attr(i, "id") ?? "").lowercased()
    for s in [cls, id] where !s.isEmpty {
      if ContentFinder.containsAny(s, ContentFinder.negativeWords) { weight -= 25 }
      if ContentFinder.containsAny(s, ContentFinder.positiveWords) { weight += 25 }
    }
    return weight
  }

  // MARK: - Phase 1: strip

  /// Drops junk and hidden elements. Returns nothing; marks `tree.removed`.
  mutating func strip() {
    guard tree.root >= 0 else { return }
    var toRemove: [Int] = []
    tree.walk(tree.root) { i in
      let n = tree.name[i]
      if ContentFinder.junkTags.contains(n) || n.utf8.contains(UInt8(ascii: ":")) {
        // Keep <noscript> images? No: the visible <img> usually exists too.
        toRemove.append(i)
        return false
      }
      if isHidden(i) {
        toRemove.append(i)
        return false
      }
      if n != "body" && n != "html" && n != "main" {
        let match = tree.classAndIDWithoutSlugs(i)
        if !match.isEmpty && isStronglyUnlikely(i, match) {
          toRemove.append(i)
          return false
        }
      }
      if let role = tree.attr(i, "role")?.lowercased(),
        [
          "navigation", "menu", "menubar", "complementary", "alert", "alertdialog", "dialog",
          "banner", "contentinfo", "search",
        ].contains(role),
        n != "body", n != "main", n != "article"
      {
        toRemove.append(i)
        return false
      }
      return true
    }
    for i in toRemove { tree.remove(i) }
  }

  func isHidden(_ i: Int) -> Bool {
    if tree.attr(i, "hidden") != nil { return true }
    if let aria = tree.attr(i, "aria-hidden"), aria.lowercased() == "true" {
      // Some pages hide a fallback image this way but show it; keep those.
      let cls = (tree.attr(i, "class") ?? "").lowercased()
      if !cls.contains("fallback-image") { return true }
    }
    if let style = tree.attr(i, "style") {
      let s = style.lowercased().filter { !$0.isWhitespace }
      if ContentFinder.containsAny(s, ["display:none", "visibility:hidden"]) { return true }
    }
    return false
  }

  // MARK: - Phase 2: byline

  static let bylineWords = ["byline", "author", "dateline", "writtenby", "p-author"]

  /// Finds and removes the first byline-like element; returns its text.
  mutating func takeByline() -> String? {
    guard tree.root >= 0 else { return nil }
    var found: (Int, String)? = nil
    tree.walk(tree.root) { i in
      if found != nil { return false }
      let rel = (tree.attr(i, "rel") ?? "").lowercased()
      let itemprop = (tree.attr(i, "itemprop") ?? "").lowercased()
      let match = tree.classAndID(i)
      if rel == "author" || itemprop.contains("author")
        || ContentFinder.containsAny(match, ContentFinder.bylineWords)
      {
        let text = tree.textContent(i).trimmingSpaces()
        if !text.isEmpty && text.count < 100 {
          // Prefer the name part when the byline marks it.
          var nameText: String? = nil
          tree.walk(i) { j in
            if nameText != nil { return false }
            if (tree.attr(j, "itemprop") ?? "").lowercased().contains("name") {
              let t = tree.textContent(j).trimmingSpaces()
              if !t.isEmpty { nameText = t }
              return false
            }
            return true
          }
          found = (i, nameText ?? text)
          return false
        }
      }
      return true
    }
    guard let (i, text) = found else { return nil }
    tree.remove(i)
    return text
  }

  /// Drops short blocks that only carry the byline, the date or the article's
  /// "meta" line (class/id `byline`, `author`, `dateline`, `date`, `timestamp`,
  /// `published`, `updated`, `posted-on`), and `<time>`-only lines: they are metadata, not body.
  mutating func dropDatelines() {
    guard tree.root >= 0 else { return }
    let words: Set<Substring> = [
      "byline", "dateline", "timestamp", "date", "pubdate", "published", "updated", "posted",
      "author", "authors", "writtenby", "time",
    ]
    var drop: [Int] = []
    tree.walk(tree.root) { i in
      let n = tree.name[i]
      if n == "body" || n == "html" || n == "article" || n == "main" { return true }
      let match = tree.classAndIDWithoutSlugs(i)
      let itemprop = (tree.attr(i, "itemprop") ?? "").lowercased()
      let byItemprop = ["datepublished", "datemodified", "datecreated"].contains(itemprop)
      guard
        byItemprop
          || (!match.isEmpty
            && match.split(whereSeparator: { $0 == " " || $0 == "-" || $0 == "_" }).contains(
              where: { words.contains($0) }))
      else { return true }
      let text = foldWhitespace(tree.textContent(i))
      if text.count < 120 {
        drop.append(i)
        return false
      }
      return true
    }
    for i in drop { tree.remove(i) }
  }

  // MARK: - Phase 3: unlikely candidates

  /// Class/id tokens that name a page part which is never the article, even when another
  /// word of the same class says "post" or "body" (`comments-area post-comments`).
  static let strongPrefixes = [
    "comment", "disqus", "respond", "reply", "replies", "cookie", "consent", "gdpr",
    "newsletter", "share", "sharing", "social", "related", "outbrain", "taboola",
    "recommend", "subscribe", "signup", "breadcrumb", "sidebar", "footer", "most-popular",
    "mostpopular", "more-stories", "trending", "author-bio", "authorbio", "about-author",
    "author-info", "popular", "livefyre", "jp-relatedposts", "sharedaddy", "yarpp",
  ]

  /// Whether a class/id token says the element is a page part that is never the article.
  /// Never true for an element holding the page's `<h1>` or an `articleBody`, or a big
  /// share of the page text... which keeps wrappers like `has-comments` safe.
  func isStronglyUnlikely(_ i: Int, _ match: String) -> Bool {
    if !ContentFinder.containsAny(match, ContentFinder.strongPrefixes) { return false }
    var hit = false
    for token in match.split(separator: " ") {
      let t = token.drop(while: { $0 == "-" || $0 == "_" })
      for p in ContentFinder.strongPrefixes where t.hasPrefix(p) {
        hit = true
        break
      }
      if hit { break }
    }
    if !hit { return false }
    var guarded = false
    tree.walk(i) { j in
      if guarded { return false }
      let n = tree.name[j]
      if n == "h1"
        || (tree.attr(j, "itemprop") ?? "").lowercased() == "articlebody"
      {
        guarded = true
        return false
      }
      return true
    }
    return !guarded
  }

  mutating func stripUnlikely() {
    guard tree.root >= 0 else { return }
    var toRemove: [Int] = []
    tree.walk(tree.root) { i in
      let n = tree.name[i]
      if n == "body" || n == "a" || n == "main" || n == "article" || n == "html" { return true }
      if n == "table" || n == "code" || n == "pre" { return false }
      let match = tree.classAndIDWithoutSlugs(i)
      if match.isEmpty { return true }
      if ContentFinder.containsAny(match, ContentFinder.unlikelyWords)
        && !ContentFinder.containsAny(match, ContentFinder.maybeWords)
      {
        toRemove.append(i)
        return false
      }
      return true
    }
    for i in toRemove { tree.remove(i) }
  }
}

/// Whether the UTF-8 bytes `hay` contain `needle` (plain byte search: class names are
/// short, and Foundation's `contains` is far slower on Linux).
func bytesContain(_ hay: UnsafeBufferPointer<UInt8>, _ needle: String) -> Bool {
  var needle = needle
  return needle.withUTF8 { nd in
    let n = nd.count
    if n == 0 { return true }
    if hay.count < n { return false }
    let first = nd[0]
    var i = 0
    let last = hay.count - n
    while i <= last {
      if hay[i] == first {
        var k = 1
        while k < n && hay[i + k] == nd[k] { k += 1 }
        if k == n { return true }
      }
      i += 1
    }
    return false
  }
}
