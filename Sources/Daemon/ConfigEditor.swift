import Articles
import Foundation
import Yams

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Edits the user's YAML config as text, for `feedspool add` / `remove` / `import-opml`.
///
/// Only the lines of the edited entry change; every other byte (comments, blank lines,
/// key order, quoting, CRLF line ends) stays as the user wrote it. Yams is used to read
/// the document (where the list is, which entry holds which URL); the text is then
/// spliced by line. Every result is parsed again with `Config.parse` and compared with
/// the config before the edit: it must be the same config plus (or minus) exactly that
/// entry, or the edit throws and nothing is written.
///
/// Layouts handled: a block list (`- url: ...` mappings or bare `- URL` strings) at any
/// indentation and with any gap after the dash; an empty list (`feeds:`, `feeds: []`,
/// `feeds: ~`); a missing key (appended at the end of the file). A non-empty flow list
/// (`feeds: [a, b]`) or a flow-style document (`{feeds: ...}`) is refused with
/// `ConfigEditError.unsupportedLayout`: rewriting it would change lines the user wrote.
///
/// Removal takes the entry's lines: its dash line and every following line indented
/// deeper than the dash (comments included). A comment above the dash, at the dash's
/// indentation, is not part of the entry and stays (it may head a group of entries).
public enum ConfigEditor {
  /// Appends a feed to the top-level `feeds:` list, in the style of the existing entries.
  public static func addFeed(
    to text: String, url: String, topics: [String], category: String?
  ) throws(ConfigEditError) -> String {
    try add(to: text, list: .feeds, url: url, topics: topics, category: category)
  }

  /// A feed or page to add.
  public struct NewEntry: Sendable, Equatable {
    public var url: String
    public var topics: [String]
    public var category: String?
    /// Written as the feed's `title:` (feeds only; ignored for articles).
    public var title: String?
    public init(
      url: String, topics: [String] = [], category: String? = nil, title: String? = nil
    ) {
      self.url = url
      self.topics = topics
      self.category = category
      self.title = title
    }
  }

  public struct BatchResult: Sendable, Equatable {
    /// The edited text (the input itself when nothing was added).
    public var text: String
    /// The URLs added (trimmed), in order.
    public var added: [String]
    /// One error per entry left out: `.invalidURL`, or `.alreadyListed` (also for a URL
    /// given twice in the batch).
    public var skipped: [ConfigEditError]
  }

  /// Appends many feeds in one edit (for `import-opml`): the file is read and verified
  /// once, not once per feed. Entries that cannot be added are skipped and reported; any
  /// other problem (an invalid config, a layout this editor does not rewrite) throws.
  public static func addFeeds(
    to text: String, _ feeds: [NewEntry]
  ) throws(ConfigEditError) -> BatchResult {
    try add(to: text, list: .feeds, feeds)
  }

  /// Removes the feed whose URL is `url` (compared after trimming spaces).
  public static func removeFeed(from text: String, url: String) throws(ConfigEditError) -> String {
    try remove(from: text, list: .feeds, url: url)
  }

  /// Appends a page to the top-level `articles:` list.
  public static func addArticle(
    to text: String, url: String, topics: [String], category: String?
  ) throws(ConfigEditError) -> String {
    try add(to: text, list: .articles, url: url, topics: topics, category: category)
  }

  /// Removes the page whose URL is `url` from `articles:`.
  public static func removeArticle(
    from text: String, url: String
  ) throws(ConfigEditError) -> String {
    try remove(from: text, list: .articles, url: url)
  }
}

/// Why an edit was refused. Nothing was written.
public enum ConfigEditError: Error, Sendable, Equatable, CustomStringConvertible {
  /// Not an http:// or https:// URL with a host.
  case invalidURL(String)
  /// The URL is already in the list (`list` is `feeds` or `articles`).
  case alreadyListed(url: String, list: String)
  case notListed(url: String, list: String)
  /// The file is laid out in a way this editor does not rewrite (the message says how to fix it).
  case unsupportedLayout(String)
  /// The file did not pass `Config.parse` before the edit: fix it first.
  case invalidConfig(String)
  /// The edited text would not be the expected config (a bug here): refused, not written.
  case editFailed(String)
  /// Reading or writing the file failed.
  case io(path: String, message: String)

  public var description: String {
    switch self {
    case .invalidURL(let u): "\(u): not an http:// or https:// URL"
    case .alreadyListed(let u, let list): "\(u) is already listed in \(list)"
    case .notListed(let u, let list): "\(u) is not listed in \(list)"
    case .unsupportedLayout(let m): m
    case .invalidConfig(let m): "the config has errors; fix them first:\n\(m)"
    case .editFailed(let m): "refusing to write the edit: \(m)"
    case .io(let path, let m): "\(path): \(m)"
    }
  }
}

extension ConfigEditor {
  enum List: String {
    case feeds, articles
    var other: List { self == .feeds ? .articles : .feeds }
  }

  /// The text as lines, split on LF only so that every byte (CR included) survives.
  struct Lines {
    var lines: [String]
    var endsWithNewline: Bool
    var crlf: Bool

    init(_ text: String) {
      var parts = text.utf8.split(
        separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false
      ).map { String(decoding: $0, as: UTF8.self) }
      endsWithNewline = parts.last == ""
      if endsWithNewline { parts.removeLast() }
      lines = parts
      let withCR = parts.filter { $0.hasSuffix("\r") }.count
      crlf = withCR > 0 && withCR * 2 >= parts.count
    }

    var text: String {
      lines.isEmpty ? "" : lines.joined(separator: "\n") + (endsWithNewline ? "\n" : "")
    }

    /// A new line in the file's line-end style.
    func new(_ s: String) -> String { crlf ? s + "\r" : s }
  }

  /// One entry of a block list: lines `first...last` of the file.
  struct Entry {
    var first: Int
    var last: Int
    var url: String?
    var isMapping: Bool
  }

  enum Layout {
    case absent(rootIndent: Int)
    /// `key:` with nothing, `~`, `null` or `[]`; `rewrite` when the key line holds a value.
    case empty(keyLine: Int, keyIndent: Int, rewrite: Bool)
    case block(keyLine: Int, keyIndent: Int, dashIndent: Int, entries: [Entry])
  }

  static func indent(_ line: String) -> Int {
    var n = 0
    for b in line.utf8 {
      guard b == UInt8(ascii: " ") else { break }
      n += 1
    }
    return n
  }

  static func isBlank(_ line: String) -> Bool {
    line.utf8.allSatisfy { $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }
  }

  static func isComment(_ line: String) -> Bool {
    line.utf8.first(where: { $0 != 0x20 && $0 != 0x09 }) == UInt8(ascii: "#")
  }

  /// A line whose content starts with a sequence dash (`-` then a space or the line end).
  static func isDash(_ line: String, at column: Int) -> Bool {
    let u = Array(line.utf8)
    guard indent(line) == column, u.count > column, u[column] == UInt8(ascii: "-") else {
      return false
    }
    return u.count == column + 1 || u[column + 1] == 0x20 || u[column + 1] == 0x0D
      || u[column + 1] == 0x09
  }

  static func layout(_ root: Node?, _ lines: Lines, _ list: List) throws(ConfigEditError) -> Layout
  {
    guard let root else { return .absent(rootIndent: 0) }
    guard let map = root.mapping else { throw .invalidConfig("the config is not a mapping") }
    if isFlow(map.mark, "{", lines) {
      throw .unsupportedLayout(
        "the config is written as one flow mapping ({...}); write it in block style, one key per line, to edit it with feedspool"
      )
    }
    let rootIndent = (map.mark?.column ?? 1) - 1
    guard let pair = map.first(where: { $0.key.string == list.rawValue }) else {
      return .absent(rootIndent: rootIndent)
    }
    guard let keyMark = pair.key.mark else { throw .unsupportedLayout("no position for \(list)") }
    let keyLine = keyMark.line - 1
    let keyIndent = keyMark.column - 1
    switch pair.value {
    case .scalar(let s):
      guard s.string.isEmpty || s.string == "~" || s.string == "null" else {
        throw .invalidConfig("\(list.rawValue): must be a list")
      }
      if s.string.isEmpty { return .empty(keyLine: keyLine, keyIndent: keyIndent, rewrite: false) }
      guard s.mark?.line == keyMark.line else {
        throw .unsupportedLayout(
          "\(list.rawValue): put the list on the line after `\(list.rawValue):`")
      }
      return .empty(keyLine: keyLine, keyIndent: keyIndent, rewrite: true)
    case .sequence(let seq):
      if isFlow(seq.mark, "[", lines) {
        let line = lines.lines[keyLine]
        if seq.isEmpty, seq.mark?.line == keyMark.line,
          let open = line.firstIndex(of: "["), line[open...].contains("]")
        {
          return .empty(keyLine: keyLine, keyIndent: keyIndent, rewrite: true)
        }
        throw .unsupportedLayout(
          "\(list.rawValue): is written as a flow list ([...]); rewrite it as a block list, one `- URL` entry per line, to edit it with feedspool"
        )
      }
      return try block(seq, lines, list, keyLine: keyLine, keyIndent: keyIndent)
    default:
      throw .invalidConfig("\(list.rawValue): must be a list")
    }
  }

  /// Whether the node at `mark` opens with `bracket` (Yams does not report the style of
  /// composed collections, so the text is asked).
  static func isFlow(_ mark: Mark?, _ bracket: Unicode.Scalar, _ lines: Lines) -> Bool {
    guard let mark, mark.line >= 1, mark.line <= lines.lines.count else { return false }
    let scalars = Array(lines.lines[mark.line - 1].unicodeScalars)
    return mark.column >= 1 && mark.column <= scalars.count && scalars[mark.column - 1] == bracket
  }

  static func block(
    _ seq: Node.Sequence, _ lines: Lines, _ list: List, keyLine: Int, keyIndent: Int
  ) throws(ConfigEditError) -> Layout {
    guard let seqMark = seq.mark else { throw .unsupportedLayout("no position for \(list)") }
    let dashIndent = seqMark.column - 1
    let text = lines.lines
    guard seqMark.line - 1 < text.count, isDash(text[seqMark.line - 1], at: dashIndent) else {
      throw .unsupportedLayout("\(list.rawValue): cannot find the list's first `-`")
    }
    // The list's lines: up to the next line at or left of the key that is not one of its dashes.
    var end = keyLine + 1
    var dashes: [Int] = []
    while end < text.count {
      let line = text[end]
      if isBlank(line) || isComment(line) {
        end += 1
        continue
      }
      if isDash(line, at: dashIndent) {
        dashes.append(end)
      } else if indent(line) <= keyIndent {
        break
      }
      end += 1
    }
    let items = Array(seq)
    guard dashes.count == items.count else {
      throw .unsupportedLayout(
        "\(list.rawValue): found \(dashes.count) `-` lines for \(items.count) entries; cannot edit this layout"
      )
    }
    var entries: [Entry] = []
    for (i, item) in items.enumerated() {
      let first = dashes[i]
      let bound = i + 1 < dashes.count ? dashes[i + 1] : end
      if let line = item.mark.map({ $0.line - 1 }), line < first || line >= bound {
        throw .unsupportedLayout("\(list.rawValue): entry \(i + 1) is not where expected")
      }
      var last = first
      for j in (first + 1)..<max(bound, first + 1) where !isBlank(text[j]) {
        if indent(text[j]) > dashIndent { last = j }
      }
      let url: String? =
        switch item {
        case .scalar(let s): s.string
        case .mapping(let m): m["url"]?.string
        default: nil
        }
      entries.append(
        Entry(
          first: first, last: last, url: url?.trimmingCharacters(in: .whitespaces),
          isMapping: item.mapping != nil))
    }
    return .block(keyLine: keyLine, keyIndent: keyIndent, dashIndent: dashIndent, entries: entries)
  }

  /// How new entries are written: dash column, spaces after the dash, mapping or bare URL,
  /// blank lines between entries.
  struct Style {
    var dashIndent: Int
    var gap = 1
    var mapping = true
    var keyColumn: Int { dashIndent + 1 + gap }
    var separated = false
  }

  static func style(of entries: [Entry], dashIndent: Int, _ lines: Lines) -> Style {
    var style = Style(dashIndent: dashIndent)
    let text = lines.lines
    let template = entries.last(where: \.isMapping) ?? entries.last
    if let t = template {
      let u = Array(text[t.first].utf8)
      var gap = 0
      while dashIndent + 1 + gap < u.count, u[dashIndent + 1 + gap] == 0x20 { gap += 1 }
      if dashIndent + 1 + gap >= u.count || u[dashIndent + 1 + gap] == 0x0D {
        // A dash alone on its line: the keys start on the next line.
        if t.first + 1 < text.count { gap = indent(text[t.first + 1]) - dashIndent - 1 }
      }
      style.gap = max(1, gap)
      style.mapping = t.isMapping
    }
    if entries.count >= 2 {
      let a = entries[entries.count - 2]
      let b = entries[entries.count - 1]
      style.separated = (a.last + 1..<b.first).contains { isBlank(text[$0]) }
    }
    return style
  }

  /// The smallest indentation step used in the file (2 when none).
  static func indentUnit(_ lines: Lines) -> Int {
    let steps = lines.lines.filter { !isBlank($0) && !isComment($0) }.map(indent).filter { $0 > 0 }
    return steps.min() ?? 2
  }

  static func render(_ entry: NewEntry, style: Style, lines: Lines) -> [String] {
    let (url, topics, category) = (entry.url, entry.topics, entry.category)
    let dash =
      String(repeating: " ", count: style.dashIndent) + "-"
      + String(repeating: " ", count: style.gap)
    if !style.mapping && topics.isEmpty && category == nil && entry.title == nil {
      return [lines.new(dash + YAMLScalar.render(url, inFlow: false))]
    }
    let pad = String(repeating: " ", count: style.keyColumn)
    var out = [lines.new(dash + "url: " + YAMLScalar.render(url, inFlow: false))]
    if let title = entry.title {
      out.append(lines.new(pad + "title: " + YAMLScalar.render(title, inFlow: false)))
    }
    if !topics.isEmpty {
      let items = topics.map { YAMLScalar.render($0, inFlow: true) }.joined(separator: ", ")
      out.append(lines.new(pad + "topics: [" + items + "]"))
    }
    if let category {
      out.append(lines.new(pad + "category: " + YAMLScalar.render(category, inFlow: false)))
    }
    return out
  }

  static func checkedURL(_ url: String) throws(ConfigEditError) -> String {
    let t = url.trimmingCharacters(in: .whitespaces)
    guard !t.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }),
      let u = URLComponents(string: t), let scheme = u.scheme?.lowercased(),
      scheme == "http" || scheme == "https", let host = u.host, !host.isEmpty
    else { throw .invalidURL(url) }
    return t
  }

  /// Reads the config before an edit: one compose, whose tree also serves for the layout.
  static func read(_ text: String) throws(ConfigEditError) -> (Config, Node?) {
    var reader = ConfigReader(file: "<config>")
    var config = Config(environment: [:])
    config.file = "<config>"
    let root: Node?
    do { root = try Yams.compose(yaml: text) } catch let e as YamlError {
      throw .invalidConfig(reader.yamlIssue(e).description)
    } catch {
      throw .invalidConfig("\(error)")
    }
    if let root { reader.read(root, into: &config) }
    if !reader.errors.isEmpty {
      throw .invalidConfig(ConfigErrors(issues: reader.errors).description)
    }
    return (config, root)
  }

  static func add(
    to text: String, list: List, url: String, topics: [String], category: String?
  ) throws(ConfigEditError) -> String {
    let batch = try add(
      to: text, list: list, [NewEntry(url: url, topics: topics, category: category)])
    if let refused = batch.skipped.first { throw refused }
    return batch.text
  }

  static func add(
    to text: String, list: List, _ wanted: [NewEntry]
  ) throws(ConfigEditError) -> BatchResult {
    let (before, root) = try read(text)
    var listed = Set(list == .feeds ? before.feeds.map(\.url) : before.articles.map(\.url))
    var entries: [NewEntry] = []
    var skipped: [ConfigEditError] = []
    for var entry in wanted {
      do throws(ConfigEditError) {
        entry.url = try checkedURL(entry.url)
      } catch {
        skipped.append(error)
        continue
      }
      guard listed.insert(entry.url).inserted else {
        skipped.append(.alreadyListed(url: entry.url, list: list.rawValue))
        continue
      }
      if list == .articles { entry.title = nil }  // pages take their title from the page
      entries.append(entry)
    }
    guard !entries.isEmpty else { return BatchResult(text: text, added: [], skipped: skipped) }

    var lines = Lines(text)
    func render(_ style: Style) -> [String] {
      var out: [String] = []
      for e in entries {
        if style.separated && !out.isEmpty { out.append(lines.new("")) }
        out += Self.render(e, style: style, lines: lines)
      }
      return out
    }
    func styleFromOtherList(keyIndent: Int) -> Style {
      var style = Style(dashIndent: keyIndent + indentUnit(lines))
      if case .block(_, let otherKeyIndent, let otherDash, let others)? = try? layout(
        root, lines, list.other), !others.isEmpty
      {
        style = self.style(of: others, dashIndent: otherDash, lines)
        style.dashIndent = keyIndent + (otherDash - otherKeyIndent)
      }
      return style
    }
    switch try layout(root, lines, list) {
    case .absent(let rootIndent):
      let newLines = render(styleFromOtherList(keyIndent: rootIndent))
      if let last = lines.lines.last, !isBlank(last) { lines.lines.append(lines.new("")) }
      lines.lines.append(lines.new(String(repeating: " ", count: rootIndent) + list.rawValue + ":"))
      lines.lines += newLines
      lines.endsWithNewline = true
    case .empty(let keyLine, let keyIndent, let rewrite):
      if rewrite { lines.lines[keyLine] = emptiedKeyLine(lines.lines[keyLine], list, lines) }
      lines.lines.insert(
        contentsOf: render(styleFromOtherList(keyIndent: keyIndent)), at: keyLine + 1)
    case .block(_, _, let dashIndent, let existing):
      let style = self.style(of: existing, dashIndent: dashIndent, lines)
      var newLines = render(style)
      if style.separated { newLines.insert(lines.new(""), at: 0) }
      let at = existing.last.map { $0.last + 1 } ?? 0
      lines.lines.insert(contentsOf: newLines, at: at)
    }
    let result = lines.text

    var expected = before
    for e in entries {
      switch list {
      case .feeds:
        var f = Config.FeedConfig(url: e.url)
        f.topics = e.topics
        f.title = e.title
        if let category = e.category { f.category = category }
        expected.feeds.append(f)
      case .articles:
        var a = Config.ArticleConfig(url: e.url)
        a.topics = e.topics
        if let category = e.category { a.category = category }
        expected.articles.append(a)
      }
    }
    try verify(result, expected)
    return BatchResult(text: result, added: entries.map(\.url), skipped: skipped)
  }

  /// `feeds: []  # none yet` -> `feeds:  # none yet`.
  static func emptiedKeyLine(_ line: String, _ list: List, _ lines: Lines) -> String {
    var body = line
    if body.hasSuffix("\r") { body.removeLast() }
    guard let colon = body.firstIndex(of: ":") else { return line }
    let head = String(body[...colon])
    let rest = body[body.index(after: colon)...]
    var comment = ""
    if let hash = rest.range(of: " #") ?? rest.range(of: "\t#") {
      var start = hash.lowerBound
      while start > rest.startIndex, rest[rest.index(before: start)].isWhitespace {
        start = rest.index(before: start)
      }
      comment = String(rest[start...])
    }
    return lines.new(head + comment)
  }

  static func remove(from text: String, list: List, url: String) throws(ConfigEditError) -> String {
    let target = url.trimmingCharacters(in: .whitespaces)
    let (before, root) = try read(text)
    var lines = Lines(text)
    guard case .block(let keyLine, _, _, let entries) = try layout(root, lines, list),
      let index = entries.firstIndex(where: { $0.url == target })
    else { throw .notListed(url: target, list: list.rawValue) }
    let entry = entries[index]
    var last = entry.last
    // Blank lines between entries: take the one after the entry along when the entry had
    // one before it too, or when another entry follows (so that no gap is left under the
    // key or a comment). The one that ends the list stays.
    let previous = entry.first - 1
    if last + 1 < lines.lines.count, isBlank(lines.lines[last + 1]) {
      let previousBlank = previous > keyLine && isBlank(lines.lines[previous])
      if previousBlank || index + 1 < entries.count { last += 1 }
    }
    lines.lines.removeSubrange(entry.first...last)
    let result = lines.text

    var expected = before
    switch list {
    case .feeds:
      guard let i = expected.feeds.firstIndex(where: { $0.url == target }) else {
        throw .notListed(url: target, list: list.rawValue)
      }
      expected.feeds.remove(at: i)
    case .articles:
      guard let i = expected.articles.firstIndex(where: { $0.url == target }) else {
        throw .notListed(url: target, list: list.rawValue)
      }
      expected.articles.remove(at: i)
    }
    try verify(result, expected)
    return result
  }

  /// The edited text, read back with `Config.parse`, must be exactly the expected config.
  static func verify(_ result: String, _ expected: Config) throws(ConfigEditError) {
    var after: Config
    do throws(ConfigErrors) {
      after = try Config.parse(result, file: "<config>", environment: [:])
    } catch {
      throw .editFailed("the edited file does not parse: \(error.description)")
    }
    after.warnings = []
    guard after == expected else {
      throw .editFailed("the edited file does not read back as the expected config")
    }
  }
}

/// Writing YAML scalars: plain when that reads back as the same string, else double-quoted.
enum YAMLScalar {
  static func render(_ s: String, inFlow: Bool) -> String {
    isPlainSafe(s, inFlow: inFlow) ? s : doubleQuoted(s)
  }

  static let reserved: Set<String> = [
    "null", "~", "true", "false", "yes", "no", "on", "off", "y", "n", ".inf", "-.inf", "+.inf",
    ".nan",
  ]

  static func isPlainSafe(_ s: String, inFlow: Bool) -> Bool {
    let scalars = s.unicodeScalars
    guard let first = scalars.first, let last = scalars.last else { return false }
    if first == " " || last == " " { return false }
    if "-?:,[]{}#&*!|>'\"%@`".unicodeScalars.contains(first) { return false }
    if ("0"..."9").contains(first) || first == "+" || first == "." { return false }
    if reserved.contains(s.lowercased()) { return false }
    for c in scalars {
      let v = c.value
      if v < 0x20 || v == 0x7F || (0x80...0x9F).contains(v) || v == 0x2028 || v == 0x2029
        || v == 0xFEFF
      {
        return false
      }
      if inFlow && ",[]{}".unicodeScalars.contains(c) { return false }
    }
    if s.contains(": ") || s.contains(" #") || s.hasSuffix(":") { return false }
    return true
  }

  /// A YAML double-quoted scalar: the front matter writer's quoting, which reads
  /// back exactly through YAML 1.1 and 1.2 parsers.
  static func doubleQuoted(_ s: String) -> String { FrontMatter.quoted(s) }

}

extension ConfigEditor {
  /// Applies `edit` to the file's text and writes the result atomically: a temporary file
  /// in the same directory, written, flushed (fsync) and given the old file's mode (and
  /// owner, when permitted), then renamed over the file, and the directory flushed. A
  /// symbolic link is followed: its target is replaced, the link stays. Nothing is written
  /// when `edit` throws or returns the text unchanged. Without the file, `createIfMissing`
  /// edits an empty text and creates the file with mode 0644; otherwise it throws.
  public static func editFile(
    _ path: String, createIfMissing: Bool = false, _ edit: (String) throws -> String
  ) throws {
    var target = path
    if let real = realpath(path, nil) {
      target = String(cString: real)
      free(real)
    }
    var info = stat()
    let exists = stat(target, &info) == 0
    if !exists && !(createIfMissing && errno == ENOENT) {
      throw ConfigEditError.io(path: path, message: String(cString: strerror(errno)))
    }
    var old = ""
    if exists {
      guard let data = FileManager.default.contents(atPath: target) else {
        throw ConfigEditError.io(path: path, message: "cannot read the file")
      }
      guard let text = String(validating: data, as: UTF8.self) else {
        throw ConfigEditError.io(path: path, message: "not UTF-8 text")
      }
      old = text
    }
    let new = try edit(old)
    if exists && new == old { return }
    try writeAtomically(
      Array(new.utf8), to: target, mode: exists ? info.st_mode & 0o7777 : 0o644,
      owner: exists ? (info.st_uid, info.st_gid) : nil)
  }

  static func writeAtomically(
    _ bytes: [UInt8], to path: String, mode: mode_t, owner: (uid_t, gid_t)?
  ) throws(ConfigEditError) {
    let slash = path.lastIndex(of: "/")
    let dir = slash.map { $0 == path.startIndex ? "/" : String(path[..<$0]) } ?? "."
    let name = slash.map { String(path[path.index(after: $0)...]) } ?? path
    var template = Array("\(dir)/.\(name).XXXXXX".utf8CString)
    let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
    func fail(_ what: String) -> ConfigEditError {
      .io(path: path, message: "\(what): \(String(cString: strerror(errno)))")
    }
    guard fd >= 0 else { throw fail("cannot create a temporary file in \(dir)") }
    let temp = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    var done = false
    defer {
      if !done { unlink(temp) }
    }
    var written = 0
    while written < bytes.count {
      let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + written, $0.count - written) }
      if n < 0 && errno == EINTR { continue }
      guard n > 0 else {
        let e = fail("cannot write")
        close(fd)
        throw e
      }
      written += n
    }
    if let owner, owner.0 != geteuid() || owner.1 != getegid() {
      _ = fchown(fd, owner.0, owner.1)  // only root may; a user's own file needs nothing
    }
    guard fchmod(fd, mode) == 0, fsync(fd) == 0 else {
      let e = fail("cannot flush")
      close(fd)
      throw e
    }
    close(fd)
    guard rename(temp, path) == 0 else { throw fail("cannot replace the file") }
    done = true
    let dfd = open(dir, O_RDONLY | O_DIRECTORY)
    if dfd >= 0 {
      _ = fsync(dfd)
      close(dfd)
    }
  }
}
