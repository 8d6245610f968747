import Articles
import Foundation
import Yams

/// Fuzz target for the article file round trip: `FrontMatter.render`, read back with Yams.
///
/// Input: fields separated by 0xFF (never in UTF-8, so each field is any valid UTF-8;
/// other invalid bytes become U+FFFD): title, excerpt, originalURL, webURL, topics
/// (separated by 0xFE), body, author, feed, id, language, provider name, provider domain,
/// category, type, image URL. The dates come from the input length.
///
/// What `FrontMatter` promises, checked exactly (UTF-8 bytes, not canonical equivalence):
/// - every double-quoted string reads back as the original minus NUL and U+FEFF;
/// - plain short names (category, type, provider, topics, language) read back exactly,
///   as strings (never a boolean, null or number);
/// - fields follow the omission rules (no empty `excerpt`, no `originalUrl` equal to
///   `webUrl`, no empty topics...), dates read back as the same whole second;
/// - the body: no NUL, C0 (but TAB, LF), DEL, C1, BOM or CR; with U+200B removed it is the
///   input with those controls removed, CR LF and CR turned to LF, leading LFs and
///   trailing LFs and spaces trimmed; it ends with exactly one LF; no active markup is
///   left (`<script`, `javascript:`, ` onerror=`...).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzFrontMatter(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
  let bytes = UnsafeBufferPointer(start: size > 0 ? data : nil, count: size)
  var fields = bytes.split(separator: 0xFF, omittingEmptySubsequences: false).map {
    String(decoding: UnsafeBufferPointer(rebasing: $0), as: UTF8.self)
  }
  while fields.count < 15 { fields.append("") }
  let published = Date(timeIntervalSince1970: Double(size &* 7_919_993) - 1.0e9 + 0.75)
  var a = Article(
    title: fields[0], webURL: fields[3], published: published,
    dateSource: size % 2 == 0 ? .source : .fetched,
    fetched: Date(timeIntervalSince1970: 1_700_000_000.5), body: fields[5])
  a.excerpt = size % 3 == 0 ? nil : fields[1]
  a.originalURL = fields[2]
  // 0xFE is not UTF-8 either: it arrives as U+FFFD, so split topics on that.
  a.topics = fields[4].split(separator: "\u{FFFD}", omittingEmptySubsequences: false).map(String.init)
  a.author = fields[6]
  a.feed = fields[7]
  a.id = fields[8]
  a.language = fields[9]
  a.providerName = fields[10]
  a.providerDomain = fields[11]
  if !fields[12].isEmpty { a.category = fields[12] }
  if !fields[13].isEmpty { a.type = fields[13] }
  if !fields[14].isEmpty { a.images = [Article.Image(url: fields[14], width: size, height: 0)] }

  let file = FrontMatter.render(a)
  roundTrip(a, file)
  return 0
}

/// A double-quoted string as read back: NUL and BOM dropped.
func quotedForm(_ s: String) -> String {
  var out = String.UnicodeScalarView()
  for c in s.unicodeScalars where c.value != 0 && c.value != 0xFEFF { out.append(c) }
  return String(out)
}

func fail(_ what: String, _ a: Article, _ file: String) -> Never {
  fatalError("FrontMatter round trip: \(what)\n  article: \(String(reflecting: a))\n  file: \(String(reflecting: file))")
}

func roundTrip(_ a: Article, _ file: String) {
  // Split on the UTF-8 bytes: Foundation's `range(of:)` compares by characters and misses
  // "\n---\n\n" when the body starts with a combining mark.
  let u = Array(file.utf8)
  let close = Array("\n---\n\n".utf8)
  guard u.starts(with: Array("---\n".utf8)),
    let end = (3...max(3, u.count - close.count)).first(where: { u[$0..<min(u.count, $0 + close.count)].elementsEqual(close) })
  else {
    fail("no front matter delimiters", a, file)
  }
  let yaml = String(decoding: u[4..<end], as: UTF8.self) + "\n"
  let body = String(decoding: u[(end + close.count)...], as: UTF8.self)
  let loaded: Any?
  do { loaded = try Yams.load(yaml: yaml) } catch { fail("Yams cannot read it: \(error)", a, file) }
  guard let map = loaded as? [String: Any] else { fail("not a mapping", a, file) }

  func expect(_ key: String, _ value: String?, in m: [String: Any] = map) {
    let got = m[key]
    guard let value else {
      if got != nil { fail("\(key) present: \(String(reflecting: got))", a, file) }
      return
    }
    guard let s = got as? String else { fail("\(key) read back as \(String(reflecting: got))", a, file) }
    if !s.utf8.elementsEqual(value.utf8) { fail("\(key) read back as \(String(reflecting: s)), expected \(String(reflecting: value))", a, file) }
  }
  func nonEmpty(_ s: String?) -> String? { s.flatMap { $0.isEmpty ? nil : $0 } }

  expect("category", quotedForm(a.category))
  expect("type", quotedForm(a.type))
  expect("title", quotedForm(a.title))
  expect("excerpt", nonEmpty(a.excerpt).map(quotedForm))
  expect("webUrl", quotedForm(a.webURL))
  let original = nonEmpty(a.originalURL).flatMap { $0 == a.webURL ? nil : $0 }
  expect("originalUrl", original.map(quotedForm))
  expect("author", nonEmpty(a.author).map(quotedForm))
  expect("feed", nonEmpty(a.feed).map(quotedForm))
  expect("id", nonEmpty(a.id).map(quotedForm))
  expect("language", nonEmpty(a.language).map(quotedForm))
  expect("dateSource", a.dateSource == .fetched ? "fetched" : nil)
  if map["published"] as? Bool != false || map["render_with_liquid"] as? Bool != false {
    fail("published / render_with_liquid not false", a, file)
  }
  for (key, date) in [("publishedDateTime", a.published), ("fetchedDateTime", a.fetched)] {
    guard let d = map[key] as? Date,
      d.timeIntervalSince1970 == date.timeIntervalSince1970.rounded(.down)
    else { fail("\(key) read back as \(String(reflecting: map[key]))", a, file) }
  }

  let name = nonEmpty(a.providerName)
  let domain = nonEmpty(a.providerDomain)
  if name == nil && domain == nil {
    if map["provider"] != nil { fail("empty provider written", a, file) }
  } else {
    guard let p = map["provider"] as? [String: Any] else { fail("provider missing", a, file) }
    expect("name", name.map(quotedForm), in: p)
    expect("domain", domain.map(quotedForm), in: p)
  }
  let topics = a.topics.filter { !$0.isEmpty }.map(quotedForm)
  if topics.isEmpty {
    if map["topics"] != nil { fail("empty topics written", a, file) }
  } else if !((map["topics"] as? [Any])?.map({ ($0 as? String).map { Array($0.utf8) } }) == topics.map { Array($0.utf8) }) {
    fail("topics read back as \(String(reflecting: map["topics"]))", a, file)
  }
  let images = a.images.filter { !$0.url.isEmpty }
  if images.isEmpty {
    if map["images"] != nil { fail("empty images written", a, file) }
  } else {
    guard let list = map["images"] as? [[String: Any]], list.count == images.count else {
      fail("images read back as \(String(reflecting: map["images"]))", a, file)
    }
    for (i, m) in zip(images, list) {
      expect("url", quotedForm(i.url), in: m)
      if (m["width"] as? Int) != i.width.flatMap({ $0 > 0 ? $0 : nil }) { fail("image width", a, file) }
      if (m["height"] as? Int) != i.height.flatMap({ $0 > 0 ? $0 : nil }) { fail("image height", a, file) }
    }
  }
  checkBody(body, a, file)
}

func isControl(_ v: UInt32) -> Bool {
  (v < 0x20 && v != 0x09 && v != 0x0A) || (0x7F...0x9F).contains(v) || v == 0xFEFF
}

/// Trailing LFs and spaces, leading LFs off (as `render` does).
func trimmed(_ s: String.UnicodeScalarView) -> String {
  var u = Array(s)
  while let l = u.last, l == "\n" || l == " " { u.removeLast() }
  var i = 0
  while i < u.count, u[i] == "\n" { i += 1 }
  var out = String.UnicodeScalarView()
  out.append(contentsOf: u[i...])
  return String(out)
}

func checkBody(_ body: String, _ a: Article, _ file: String) {
  for c in body.unicodeScalars where isControl(c.value) {
    fail("control U+\(String(c.value, radix: 16)) in body", a, file)
  }
  // Expected visible text: controls out, CR LF / CR to LF, U+200B ignored on both sides.
  var expected = String.UnicodeScalarView()
  var anyZWSP = false  // U+200B of the input (kept, so the body is not empty)
  let input = Array(a.body.unicodeScalars)
  var i = 0
  while i < input.count {
    let c = input[i]
    if c == "\r" {
      expected.append("\n")
      if i + 1 < input.count && input[i + 1] == "\n" { i += 1 }
    } else if c.value == 0x200B {
      anyZWSP = true
    } else if !isControl(c.value) {
      expected.append(c)
    }
    i += 1
  }
  var got = String.UnicodeScalarView()
  for c in body.unicodeScalars where c.value != 0x200B { got.append(c) }
  let want = trimmed(expected)
  if !trimmed(got).utf8.elementsEqual(want.utf8) {
    fail("body text changed: \(String(reflecting: String(got)))", a, file)
  }
  if want.isEmpty && !anyZWSP ? !body.isEmpty : !(body.hasSuffix("\n") && !body.hasSuffix("\n\n")) {
    fail("body does not end with exactly one LF", a, file)
  }
  checkInert(Array(body.utf8), a, file)
}

/// No active markup left in the body (ASCII white space only: a subset of what
/// `BodySafety` treats as white space).
func checkInert(_ s: [UInt8], _ a: Article, _ file: String) {
  func lower(_ b: UInt8) -> UInt8 { b >= 0x41 && b <= 0x5A ? b | 0x20 : b }
  func isSpace(_ b: UInt8) -> Bool { b == 0x20 || (b >= 0x09 && b <= 0x0D) }
  func at(_ i: Int, _ word: String) -> Bool {
    let w = Array(word.utf8)
    guard i >= 0, i + w.count <= s.count else { return false }
    for k in 0..<w.count where lower(s[i + k]) != w[k] { return false }
    return true
  }
  let active = [
    "script", "iframe", "object", "embed", "base", "frame", "applet", "meta", "link", "style",
    "form", "svg", "math",
  ]
  for i in 0..<s.count {
    switch s[i] {
    case 0x3C:
      var j = i + 1
      while j < s.count, isSpace(s[j]) { j += 1 }
      if let w = active.first(where: { at(j, $0) }) { fail("active <\(w) left in body", a, file) }
    case 0x3A:
      var j = i
      while j > 0, isSpace(s[j - 1]) { j -= 1 }
      if at(j - 6, "script") { fail("script: scheme left in body", a, file) }
      if at(j - 4, "data") {
        var k = i + 1
        while k < s.count, isSpace(s[k]) { k += 1 }
        if at(k, "text/html") { fail("data:text/html left in body", a, file) }
      }
    case 0x6F, 0x4F:
      guard i > 0, isSpace(s[i - 1]), i + 1 < s.count, lower(s[i + 1]) == 0x6E else { break }
      var j = i + 2
      while j < s.count, lower(s[j]) >= 0x61 && lower(s[j]) <= 0x7A { j += 1 }
      guard j > i + 2 else { break }
      while j < s.count, isSpace(s[j]) { j += 1 }
      if j < s.count && s[j] == 0x3D { fail("event handler attribute left in body", a, file) }
    default: break
    }
  }
}
