import Foundation

extension ContentFinder {
  /// Points a candidate must earn from its own text before its class/id bonus counts.
  static let bonusThreshold: Double = 3
  static let scoredTags: Set<String> = ["p", "pre", "td", "h2", "h3", "h4", "h5", "h6"]
  static let paragraphLikeContainers: Set<String> = [
    "div", "section", "article", "main", "span", "font", "center", "blockquote", "dd",
  ]

  /// Scores candidates; returns the content score of every node (0 = not a candidate).
  func score(_ flags: Flags) -> [Double] {
    var scores = Array(repeating: 0.0, count: tree.count)
    var initialized = Array(repeating: false, count: tree.count)
    var bonus = Array(repeating: 0.0, count: tree.count)
    var tagScore = Array(repeating: 0.0, count: tree.count)
    guard let body = tree.first("body") ?? (tree.root >= 0 ? tree.root : nil) else {
      return scores
    }

    func initialize(_ i: Int) {
      if initialized[i] { return }
      initialized[i] = true
      var s = 0.0
      switch tree.name[i] {
      case "div", "article", "main": s = 5
      case "pre", "td", "blockquote": s = 3
      case "address", "ol", "ul", "dl", "dd", "dt", "li", "form": s = -3
      case "h1", "h2", "h3", "h4", "h5", "h6", "th": s = -5
      default: s = 0
      }
      scores[i] = s
      tagScore[i] = s
      bonus[i] = Double(classWeight(i, flags))
    }

    func credit(from start: Int, length: Int, commaCount: Int, ownLevel: Bool) {
      guard length >= 25 else { return }
      let points = 1.0 + Double(commaCount) + Double(min(length / 100, 3))
      var ancestor = ownLevel ? start : tree.parent[start]
      var level = 0
      while ancestor >= 0 && level < 5 {
        if tree.kind[ancestor] != .element || tree.parent[ancestor] < 0 { break }
        initialize(ancestor)
        let divider: Double = level == 0 ? 1 : (level == 1 ? 2 : Double(level) * 3)
        scores[ancestor] += points / divider
        ancestor = tree.parent[ancestor]
        level += 1
      }
    }

    tree.walk(body) { i in
      let n = tree.name[i]
      if ContentFinder.scoredTags.contains(n) {
        credit(from: i, length: textLen[i], commaCount: commas[i], ownLevel: false)
        return n == "td"
      }
      if ContentFinder.paragraphLikeContainers.contains(n) {
        if !hasBlockChild[i] {
          // A block holding only inline content is a paragraph.
          credit(from: i, length: textLen[i], commaCount: commas[i], ownLevel: false)
          return false
        }
        // Text written straight into a block that also has block children.
        var runLength = 0
        var runCommas = 0
        for c in tree.children[i] where !tree.removed[c] {
          if tree.kind[c] == .text || !ContentFinder.blockTags.contains(tree.name[c]) {
            runLength += textLen[c]
            runCommas += commas[c]
          }
        }
        if runLength >= 25 {
          credit(from: i, length: runLength, commaCount: runCommas, ownLevel: true)
        }
      }
      return true
    }
    for i in 0..<tree.count where initialized[i] {
      // A class that says "content" helps a block that earned points itself, not a
      // far-away wrapper that only got crumbs from its great-grandchildren.
      let earned = scores[i] - tagScore[i]
      if bonus[i] < 0 || earned >= ContentFinder.bonusThreshold { scores[i] += bonus[i] }
      scores[i] *= (1 - linkDensity(i))
    }
    // Mark non-candidates with NaN-free zero; candidates keep their (possibly 0) score.
    return scores.enumerated().map { initialized[$0.offset] ? $0.element : -.infinity }
  }

  /// Picks the top candidate and gathers it with its worthy siblings. Returns the node
  /// indices whose subtrees form the article, in document order.
  func pick(_ scores: [Double], _ flags: Flags) -> [Int] {
    guard let body = tree.first("body") ?? (tree.root >= 0 ? tree.root : nil) else {
      return []
    }
    var ranked: [(Int, Double)] = []
    for i in 0..<scores.count where scores[i] > -.infinity && !tree.isDetached(i) {
      ranked.append((i, scores[i]))
    }
    ranked.sort { $0.1 > $1.1 }
    guard var top = ranked.first?.0, ranked[0].1 > 0 else { return [body] }
    if debugEnabled {
      for (i, sc) in ranked.prefix(8) {
        debugLog("candidate \(tree.name[i]).\(tree.classAndID(i)) score=\(sc) len=\(textLen[i])")
      }
    }
    var topScore = scores[top]

    // Several near-equal candidates sharing an ancestor: the content is split across
    // them, so take the ancestor.
    let close = ranked.dropFirst().prefix(5).filter { $0.1 / topScore >= 0.75 }.map { $0.0 }
    if close.count >= 3 {
      var p = tree.parent[top]
      while p >= 0 && tree.name[p] != "body" {
        var containing = 0
        for c in close where isAncestor(p, of: c) { containing += 1 }
        if containing >= 3 {
          top = p
          break
        }
        p = tree.parent[p]
      }
      if scores[top] == -.infinity { topScore = 0 } else { topScore = scores[top] }
    }

    // The body split into chunks of the same class (between ads or pull quotes): take
    // the smallest ancestor holding every substantial chunk.
    if let cls = tree.attr(top, "class"), !cls.isEmpty {
      let chunks = ranked.prefix(20).filter {
        $0.0 != top && tree.attr($0.0, "class") == cls && $0.1 >= topScore * 0.2
          && textLen[$0.0] >= 100
      }.map { $0.0 }
      if !chunks.isEmpty {
        var ancestor = top
        for c in chunks {
          while ancestor >= 0 && !isAncestor(ancestor, of: c) { ancestor = tree.parent[ancestor] }
        }
        if ancestor >= 0 && tree.name[ancestor] != "body" && tree.name[ancestor] != "html" {
          top = ancestor
          topScore = max(topScore, scores[ancestor])
        }
      }
    }

    // Climb while the parent keeps a comparable score.
    var lastScore = topScore
    var p = tree.parent[top]
    let threshold = lastScore / 3
    while p >= 0 && tree.name[p] != "body" && tree.name[p] != "html" {
      let ps = scores[p]
      if ps == -.infinity {
        p = tree.parent[p]
        continue
      }
      if ps < threshold { break }
      if ps > lastScore {
        top = p
        break
      }
      lastScore = ps
      p = tree.parent[p]
    }
    // An only child says nothing on its own: use the parent.
    while tree.parent[top] >= 0, tree.name[tree.parent[top]] != "body",
      tree.liveElementChildren(tree.parent[top]).count == 1
    {
      top = tree.parent[top]
    }
    topScore = max(scores[top], topScore)

    if debugEnabled { debugLog("top \(tree.name[top]).\(tree.classAndID(top)) score=\(topScore)") }
    guard let container = tree.parent[top] as Int?, container >= 0 else { return [top] }
    var out: [Int] = []
    let siblingThreshold = max(10, topScore * 0.2)
    let topClass = tree.attr(top, "class") ?? ""
    for s in tree.liveElementChildren(container) {
      if s == top {
        out.append(s)
        continue
      }
      var bonus = 0.0
      if !topClass.isEmpty && tree.attr(s, "class") == topClass { bonus += topScore * 0.2 }
      let ss = scores[s]
      if ss > -.infinity && ss + bonus >= siblingThreshold {
        out.append(s)
        continue
      }
      let n = tree.name[s]
      if n == "p" || (ContentFinder.paragraphLikeContainers.contains(n) && !hasBlockChild[s]) {
        let length = textLen[s]
        let density = linkDensity(s)
        let text = foldWhitespace(tree.textContent(s))
        if length > 80 && density < 0.25 {
          out.append(s)
        } else if length < 80 && length > 0 && density == 0
          && (text.hasSuffix(".") || text.contains(". "))
        {
          out.append(s)
        }
      }
    }
    return out
  }

  func isAncestor(_ a: Int, of b: Int) -> Bool {
    var p = tree.parent[b]
    var steps = 0
    while p >= 0 && steps < 10_000 {
      if p == a { return true }
      p = tree.parent[p]
      steps += 1
    }
    return false
  }

  // MARK: - Clean

  /// Cleans the chosen content in place (marks removals in `tree`).
  mutating func clean(_ roots: [Int], _ flags: Flags) {
    // Containers that never belong to an article body.
    for r in roots {
      var drop: [Int] = []
      tree.walk(r) { i in
        switch tree.name[i] {
        case "aside", "footer", "nav", "form", "fieldset":
          drop.append(i)
          return false
        case "h1", "h2":
          if classWeight(i, flags) < 0 { drop.append(i) }
          return false
        default:
          return true
        }
      }
      for i in drop { tree.remove(i) }
    }
    // The heading that repeats the title.
    for r in roots {
      var dup: Int? = nil
      tree.walk(r) { i in
        if dup != nil { return false }
        if tree.name[i] == "h1" || tree.name[i] == "h2" {
          let t = foldWhitespace(tree.textContent(i))
          if !title.isEmpty && textSimilarity(title, t) > 0.75 && textSimilarity(t, title) > 0.75 {
            dup = i
          }
          return false
        }
        return true
      }
      if let dup { tree.remove(dup) }
    }
    computeStats()
    if flags.contains(.cleanConditionally) {
      for r in roots { cleanConditionally(r, flags) }
      computeStats()
    }
    // Share bars and other small widgets inside the body.
    for r in roots {
      var drop: [Int] = []
      tree.walk(r) { i in
        let match = tree.classAndID(i)
        if !match.isEmpty && textLen[i] < 500
          && ContentFinder.containsAny(
            match,
            [
              "share", "sharedaddy", "social", "newsletter",
              "subscribe", "related", "promo", "advert", "sponsor", "comment",
            ])
          && !ContentFinder.containsAny(
            match, ["content", "article", "body", "entry", "post-text"])
        {
          drop.append(i)
          return false
        }
        return true
      }
      for i in drop { tree.remove(i) }
    }
    computeStats()
    // Tag lists: the block holding rel=tag links, when links are most of its text.
    for r in roots {
      var drop = Set<Int>()
      tree.walk(r) { i in
        if tree.name[i] == "a",
          (tree.attr(i, "rel") ?? "").lowercased().split(separator: " ").contains("tag")
        {
          let p = tree.parent[i]
          if p >= 0 && p != r && linkDensity(p) > 0.5 { drop.insert(p) }
          return false
        }
        return true
      }
      for i in drop { tree.remove(i) }
    }
    computeStats()
    // Paragraphs made of several links and little else: "don't miss" teaser lists.
    for r in roots {
      var drop: [Int] = []
      tree.walk(r) { i in
        if tree.name[i] == "p" && textLen[i] > 0 && linkDensity(i) > 0.7
          && tree.descendants(i, named: ["a"]).count >= 2
        {
          drop.append(i)
          return false
        }
        return true
      }
      for i in drop { tree.remove(i) }
    }
    computeStats()
    // Blocks repeated word for word (carousel captions, sticky copies of the intro).
    var seenBlocks = Set<String>()
    for r in roots {
      var drop: [Int] = []
      tree.walk(r) { i in
        if hasBlockChild[i] { return true }
        if textLen[i] < 20 || textLen[i] > 250 { return false }
        // Prose may repeat itself on purpose; only captions and loose blocks are checked.
        if ["p", "li", "pre", "blockquote", "td", "th", "h2", "h3", "h4", "h5", "h6", "dd"]
          .contains(tree.name[i])
        {
          return false
        }
        let t = foldWhitespace(tree.textContent(i))
        if !seenBlocks.insert(t).inserted { drop.append(i) }
        return false
      }
      for i in drop { tree.remove(i) }
    }
    computeStats()
    // Empty blocks.
    for r in roots {
      var drop: [Int] = []
      tree.walk(r) { i in
        let n = tree.name[i]
        if [
          "p", "div", "section", "span", "li", "h1", "h2", "h3", "h4", "h5", "h6",
          "header", "blockquote", "figcaption",
        ].contains(n),
          textLen[i] == 0 || foldWhitespace(tree.textContent(i)).isEmpty,
          tree.descendants(i, named: ["img", "picture", "table", "hr", "br"]).isEmpty
        {
          drop.append(i)
          return false
        }
        return true
      }
      for i in drop { tree.remove(i) }
    }
  }

  /// A table that holds data rather than layout.
  func isDataTable(_ i: Int) -> Bool {
    if tree.attr(i, "role")?.lowercased() == "presentation" { return false }
    if tree.attr(i, "summary") != nil { return true }
    let inner = tree.descendants(i, named: ["caption", "thead", "th", "table", "tr", "td"])
    var rows = 0
    var cells = 0
    for d in inner {
      switch tree.name[d] {
      case "caption", "thead", "th": return true
      case "table": return false
      case "tr": rows += 1
      case "td": cells += 1
      default: break
      }
    }
    if rows >= 10 { return true }
    // One row or one column is layout; a real grid of more than 10 cells is data.
    return rows > 1 && cells / rows > 1 && (cells / rows > 4 || cells > 10)
  }

  mutating func cleanConditionally(_ root: Int, _ flags: Flags) {
    let candidates = tree.descendants(
      root, named: ["form", "fieldset", "table", "ul", "ol", "div", "section"])
    // Inner first, so a container judged later sees its cleaned content.
    let dataTables = Set(tree.descendants(root, named: ["table"]).filter { isDataTable($0) })
    func insideDataTable(_ i: Int) -> Bool {
      var p = tree.parent[i]
      var steps = 0
      while p >= 0 && p != root && steps < 256 {
        if dataTables.contains(p) { return true }
        p = tree.parent[p]
        steps += 1
      }
      return false
    }
    var scoresCache: [Int: Int] = [:]
    for i in candidates.reversed() {
      if tree.isDetached(i) { continue }
      let n = tree.name[i]
      if n == "table" && dataTables.contains(i) { continue }
      // What sits in a data table's cells is data.
      if !dataTables.isEmpty && insideDataTable(i) { continue }
      if tree.hasAncestor(i, named: "code") || tree.hasAncestor(i, named: "pre") { continue }
      if n == "div" || n == "section" {
        // Code blocks and figures are kept whatever their shape.
        if !tree.descendants(i, named: ["pre", "code"]).isEmpty && textLen[i] > 0 { continue }
      }
      let weight = classWeight(i, flags)
      scoresCache[i] = weight
      if weight < 0 && textLen[i] < 1000 {
        tree.remove(i)
        continue
      }
      if commas[i] >= 10 { continue }
      let isList = n == "ul" || n == "ol"
      let inside = tree.descendants(
        i,
        named: [
          "p", "img", "li", "input", "embed", "object", "iframe", "pre", "blockquote", "h2", "h3",
          "figure",
        ])
      var p = 0
      var img = 0
      var li = 0
      var input = 0
      var embed = 0
      var headings = 0
      for d in inside {
        switch tree.name[d] {
        case "p", "pre", "blockquote": p += 1
        case "img": img += 1
        case "li": li += 1
        case "input": input += 1
        case "embed", "object", "iframe": embed += 1
        case "h2", "h3": headings += 1
        default: break
        }
      }
      li -= 100
      let length = textLen[i]
      let density = linkDensity(i)
      let inFigure = tree.hasAncestor(i, named: "figure")
      var remove = false
      if img > 1 && Double(p) / Double(img) < 0.5 && !inFigure {
        remove = true
      } else if !isList && li > p {
        remove = true
      } else if input > p / 3 {
        remove = true
      } else if !isList && length < 25 && (img == 0 || img > 2) && !inFigure && headings == 0 {
        remove = true
      } else if !isList && weight < 25 && density > 0.2 {
        remove = true
      } else if weight >= 25 && density > 0.5 {
        remove = true
      } else if (embed == 1 && length < 75) || embed > 1 {
        remove = true
      } else if isList && density > 0.5 && length < 2000 {
        // A list of links: navigation, related articles, tags.
        remove = true
      }
      if remove { tree.remove(i) }
    }
  }
}

let debugEnabled: Bool = {
  if let v = getenv("FEEDSPOOL_EXTRACT_DEBUG") { return v.pointee != 0 }
  return false
}()

func debugLog(_ s: String) {
  FileHandle.standardError.write((s + "\n").data(using: .utf8)!)
}
