import XML

/// A mutable copy of a parsed HTML page, kept in flat arrays indexed by node number.
///
/// libxml2's tree (through `XMLNode`) is read-only for us; the extractor needs to drop
/// subtrees, score nodes and serialize what is left, so it copies the page once into this
/// arena. Every walk over it is iterative (explicit stacks), so a page nested 100,000 deep
/// costs memory proportional to its size and never recursion depth.
struct PageTree {
  enum Kind: UInt8 { case element, text }

  var kind: [Kind] = []
  /// Lower-cased element name, or "" for text.
  var name: [String] = []
  /// Text content of text nodes (entities already decoded by the parser).
  var text: [String] = []
  var attrs: [[(name: String, value: String)]] = []
  var parent: [Int] = []
  var children: [[Int]] = []
  /// Lower-cased "class id" of each element, and the same without heading-anchor slugs.
  var classID: [String] = []
  var classIDNoSlugs: [String] = []
  /// Removed subtrees are kept in the arrays but skipped by every walk.
  var removed: [Bool] = []

  /// Index of the root element (`html`), or -1.
  var root = -1

  var count: Int { kind.count }

  /// Elements and text nodes taken from one page; the rest of the document is left
  /// out. A long article page has tens of thousands; a page of 300,000 (8 MB of
  /// paragraphs and images) took 300 MB and 6 s to score.
  static let maxNodes = 100_000

  /// Copies the document below its root element, up to `maxNodes`. Comments and
  /// processing instructions are dropped; CDATA counts as text.
  init(_ document: XMLDocument) {
    guard let rootNode = document.root else { return }
    root = add(.element, rootNode.name.lowercased(), "", attributes(rootNode), parent: -1)
    // Depth first, in document order (so a page cut at `maxNodes` keeps its beginning
    // whole); a child always gets a larger index than its parent.
    var stack: [(node: XMLNode, parent: Int)] = rootNode.children.reversed().map { ($0, root) }
    while let (child, p) = stack.popLast(), kind.count < Self.maxNodes {
      switch child.kind {
      case .element:
        let i = add(.element, child.name.lowercased(), "", attributes(child), parent: p)
        children[p].append(i)
        stack.append(contentsOf: child.children.reversed().map { ($0, i) })
      case .text, .cdata:
        let content = child.content
        if content.isEmpty { continue }
        // Merge adjacent text nodes so text never splits mid-word.
        if let last = children[p].last, kind[last] == .text {
          text[last] += content
        } else {
          children[p].append(add(.text, "", content, [], parent: p))
        }
      default:
        continue
      }
    }
  }

  private func attributes(_ node: XMLNode) -> [(name: String, value: String)] {
    node.attributes.map { (name: $0.name.lowercased(), value: $0.value) }
  }

  private mutating func add(
    _ k: Kind, _ n: String, _ t: String, _ a: [(name: String, value: String)], parent p: Int
  ) -> Int {
    kind.append(k)
    name.append(n)
    var c = ""
    var d = ""
    for attribute in a {
      if attribute.name == "class" { c = attribute.value.lowercased() }
      if attribute.name == "id" { d = attribute.value.lowercased() }
    }
    let both = d.isEmpty ? c : (c.isEmpty ? d : c + " " + d)
    classID.append(both)
    if both.utf8.contains(UInt8(ascii: "-")) {
      classIDNoSlugs.append(
        both.split(separator: " ").filter {
          $0.split(whereSeparator: { $0 == "-" || $0 == "_" }).count <= 3
        }.joined(separator: " "))
    } else {
      classIDNoSlugs.append(both)
    }
    text.append(t)
    attrs.append(a)
    parent.append(p)
    children.append([])
    removed.append(false)
    return kind.count - 1
  }

  // MARK: - Queries

  func attr(_ i: Int, _ key: String) -> String? {
    for a in attrs[i] where a.name == key { return a.value }
    return nil
  }

  func isElement(_ i: Int) -> Bool { kind[i] == .element }

  /// Lower-cased "class id" string used by the class/id heuristics.
  func classAndID(_ i: Int) -> String { classID[i] }

  /// `classAndID` without tokens of more than three hyphenated words: those are anchors
  /// made from headings ("sharing-with-a-single-developer"), not names of page parts.
  func classAndIDWithoutSlugs(_ i: Int) -> String { classIDNoSlugs[i] }

  /// Live (not removed) children.
  func liveChildren(_ i: Int) -> [Int] { children[i].filter { !removed[$0] } }

  func liveElementChildren(_ i: Int) -> [Int] {
    children[i].filter { !removed[$0] && kind[$0] == .element }
  }

  /// Every live descendant element of `i` (not `i` itself), in document order.
  func descendants(_ i: Int, named names: Set<String>? = nil) -> [Int] {
    var out: [Int] = []
    var stack: [Int] = children[i].reversed()
    while let n = stack.popLast() {
      if removed[n] || kind[n] != .element { continue }
      if names == nil || names!.contains(name[n]) { out.append(n) }
      stack.append(contentsOf: children[n].reversed())
    }
    return out
  }

  /// Calls `visit` on each live element below `i` in document order; returning false
  /// skips the element's subtree.
  func walk(_ i: Int, _ visit: (Int) -> Bool) {
    var stack: [Int] = children[i].reversed()
    while let n = stack.popLast() {
      if removed[n] || kind[n] != .element { continue }
      if visit(n) { stack.append(contentsOf: children[n].reversed()) }
    }
  }

  /// Concatenated text of the live subtree, as the DOM's `textContent` would give.
  func textContent(_ i: Int) -> String {
    if kind[i] == .text { return text[i] }
    var out = ""
    var stack: [Int] = children[i].reversed()
    while let n = stack.popLast() {
      if removed[n] { continue }
      if kind[n] == .text {
        out += text[n]
      } else {
        stack.append(contentsOf: children[n].reversed())
      }
    }
    return out
  }

  /// Length in characters of the whitespace-folded text of `i`.
  func textLength(_ i: Int) -> Int { foldWhitespace(textContent(i)).count }

  /// Characters of folded text inside links below `i` (or `i` itself when it is a link).
  func linkTextLength(_ i: Int) -> Int {
    if name[i] == "a" { return textLength(i) }
    var total = 0
    walk(i) { n in
      if name[n] == "a" {
        total += textLength(n)
        return false
      }
      return true
    }
    return total
  }

  func linkDensity(_ i: Int) -> Double {
    let length = textLength(i)
    if length == 0 { return 0 }
    return Double(linkTextLength(i)) / Double(length)
  }

  func hasAncestor(_ i: Int, named n: String, maxDepth: Int = 64) -> Bool {
    var p = parent[i]
    var depth = 0
    while p >= 0 && depth < maxDepth {
      if name[p] == n { return true }
      p = parent[p]
      depth += 1
    }
    return false
  }

  mutating func remove(_ i: Int) { removed[i] = true }

  /// Whether `i` or one of its ancestors was removed.
  func isDetached(_ i: Int) -> Bool {
    var p = i
    while p >= 0 {
      if removed[p] { return true }
      p = parent[p]
    }
    return false
  }

  /// The first live element named `n` anywhere in the page.
  func first(_ n: String) -> Int? {
    guard root >= 0 else { return nil }
    var found: Int?
    walk(root) { i in
      if found != nil { return false }
      if name[i] == n {
        found = i
        return false
      }
      return true
    }
    return found
  }
}

/// Collapses every run of whitespace (including NBSP and the Unicode spaces) to one
/// space and trims the ends. Works on UTF-8 bytes: this runs over every block of a page.
func foldWhitespace(_ s: String) -> String {
  var s = s
  return s.withUTF8 { src -> String in
    var out: [UInt8] = []
    out.reserveCapacity(src.count)
    var pendingSpace = false
    var i = 0
    let n = src.count
    while i < n {
      let b = src[i]
      var spaceLength = 0
      if b == 0x20 || (b >= 0x09 && b <= 0x0D) {
        spaceLength = 1
      } else if b == 0xC2 && i + 1 < n && src[i + 1] == 0xA0 {
        spaceLength = 2
      } else if b == 0xE2 || b == 0xE3 || b == 0xE1, i + 2 < n {
        let scalar =
          (UInt32(b & 0x0F) << 12) | (UInt32(src[i + 1] & 0x3F) << 6) | UInt32(src[i + 2] & 0x3F)
        if let u = Unicode.Scalar(scalar), isSpace(u) { spaceLength = 3 }
      }
      if spaceLength > 0 {
        pendingSpace = true
        i += spaceLength
        continue
      }
      if pendingSpace && !out.isEmpty { out.append(0x20) }
      pendingSpace = false
      out.append(b)
      i += 1
    }
    return String(decoding: out, as: UTF8.self)
  }
}

@inline(__always)
func isSpace(_ ch: Unicode.Scalar) -> Bool {
  switch ch.value {
  case 0x20, 0x09, 0x0A, 0x0D, 0x0C, 0x0B, 0xA0, 0x2000...0x200A, 0x202F, 0x205F, 0x3000,
    0x1680, 0x2028, 0x2029:
    return true
  default:
    return false
  }
}
