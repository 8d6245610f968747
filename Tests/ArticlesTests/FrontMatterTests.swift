import Foundation
import Testing
import Yams

@testable import Articles

/// Titles written to break a YAML writer: every class DESIGN section 1 names.
let hostileTitles: [String] = [
  "He said \"hi\" and left",
  "C:\\Windows\\System32 \\n is not a newline",
  "Key: value",
  "---",
  "...",
  "--- \nfake: front matter\n---",
  "line one\nline two",
  "tab\there",
  "{{ site.title }} and {{ page.url | relative_url }}",
  "{% include evil.html %}{% raw %}",
  "# not a comment",
  "a #b c",
  "🚀 Launch day 👩🏽‍💻 family 👨‍👩‍👧‍👦",
  "𝕏 astral 𠜎 plane 𝄞",
  "שלום עולם RTL text",
  "مرحبا بالعالم",
  "\u{202E}evil override\u{202C} \u{200F}RLM",
  "\u{1B}[31mred\u{1B}[0m terminal",
  "bell\u{7} backspace\u{8} vt\u{B} ff\u{C}",
  "C1 NEL\u{85} CSI\u{9B} end",
  "\u{2028}line sep \u{2029}para sep",
  "\u{FEFF}BOM at start",
  "DEL\u{7F}char",
  "yes",
  "No",
  "null",
  "~",
  "012",
  "2025-01-06",
  "1e3",
  ".inf",
  "- dash start",
  "? question start",
  "[flow, sequence]",
  "{flow: mapping}",
  "&anchor *alias",
  "!tag value",
  "| literal",
  "> folded",
  "'single' quotes",
  "  leading and trailing spaces  ",
  "%YAML 1.2",
  "@at and `backtick`",
  "\"",
  "\\",
  "",
  "CRLF\r\nline",
  "nonchars \u{FFFE}\u{FFFF}",
  "\\x41 \\u0041 literal escape text",
  "<script>alert(1)</script>",
  "ünïcödé Ñ\u{A0}nbsp",
  "trailing backslash\\",
  "a: b: c",
  "<<: merge",
  "!!python/object/apply:os.system ['ls']",
  "0x1F",
  "ends with colon:",
  "= equals",
  "private \u{E000} use \u{10FFFD}",
  "e\u{301} combining vs é",
  String(repeating: "long 🚀 \"quoted\" title: ", count: 200),
]

/// Splits a file like the spool checker does: `---` line, YAML, `---` line, body.
func splitFile(_ text: String) -> (yaml: String, body: String)? {
  let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
  guard lines.first == "---" else { return nil }
  for i in 1..<lines.count where lines[i] == "---" || lines[i] == "..." {
    return (
      lines[1..<i].joined(separator: "\n") + "\n", lines[(i + 1)...].joined(separator: "\n")
    )
  }
  return nil
}

func article(title: String = "T", url: String = "https://example.com/a") -> Article {
  Article(
    title: title, webURL: url, published: Date(timeIntervalSince1970: 1_709_039_040),
    dateSource: .source, fetched: Date(timeIntervalSince1970: 1_709_040_000), body: "Body.")
}

@Suite struct FrontMatterTests {
  @Test func seedShapedArticleIsWrittenInTheSeedsOrder() {
    var a = article(
      title: "Alibaba's $1B Bet on AI Start-Up Moonshot Marks Major Push into Generative Tech",
      url: "https://www.benzinga.com/news/24/02/37335567/alibabas-1b-bet")
    a.excerpt = "Alibaba leads $1B investment in Chinese AI startup Moonshot AI."
    a.originalURL = "https://www.benzinga.com/news/24/02/37335567/alibabas-1b-bet?utm_source=rss"
    a.providerName = "Benzinga.com"
    a.providerDomain = "benzinga.com"
    a.topics = ["AI"]
    a.images = [.init(url: "https://cdn.benzinga.com/i.png", width: 750, height: 420)]
    a.author = "Jane Doe"
    a.feed = "https://www.benzinga.com/feed"
    a.id = "37335567"
    a.language = "en"
    a.body = "First paragraph.\n\nSecond."
    let expected = """
      ---
      category: news
      title: "Alibaba's $1B Bet on AI Start-Up Moonshot Marks Major Push into Generative Tech"
      excerpt: "Alibaba leads $1B investment in Chinese AI startup Moonshot AI."
      publishedDateTime: 2024-02-27T13:04:00Z
      originalUrl: "https://www.benzinga.com/news/24/02/37335567/alibabas-1b-bet?utm_source=rss"
      webUrl: "https://www.benzinga.com/news/24/02/37335567/alibabas-1b-bet"
      type: article
      published: false
      render_with_liquid: false

      provider:
        name: Benzinga.com
        domain: benzinga.com

      topics:
        - AI

      images:
        - url: "https://cdn.benzinga.com/i.png"
          width: 750
          height: 420

      author: "Jane Doe"
      feed: "https://www.benzinga.com/feed"
      id: "37335567"
      language: en
      fetchedDateTime: 2024-02-27T13:20:00Z
      ---

      First paragraph.

      Second.

      """
    #expect(FrontMatter.render(a) == expected)
  }

  @Test func fieldsWithoutValuesAreLeftOut() {
    var a = article()
    a.originalURL = a.webURL
    a.excerpt = ""
    a.dateSource = .fetched
    let text = FrontMatter.render(a)
    for absent in ["excerpt:", "originalUrl:", "provider:", "topics:", "images:", "author:", "id:"]
    {
      #expect(!text.contains("\n" + absent), "\(absent) should be omitted")
    }
    #expect(text.contains("render_with_liquid: false\ndateSource: fetched\n"))
  }

  @Test func dateSourceIsOnlyWrittenForFetchedDates() {
    #expect(!FrontMatter.render(article()).contains("dateSource"))
  }

  @Test func frontMatterParsesWithYamsToTheArticleFields() throws {
    var a = article(title: "A: title", url: "https://example.com/x")
    a.topics = ["AI", "yes", "C++"]
    a.providerName = "No"
    let parts = try #require(splitFile(FrontMatter.render(a)))
    let map = try #require(try Yams.load(yaml: parts.yaml) as? [String: Any])
    #expect(map["title"] as? String == "A: title")
    #expect(map["webUrl"] as? String == "https://example.com/x")
    #expect(map["published"] as? Bool == false)
    #expect(map["render_with_liquid"] as? Bool == false)
    #expect(map["topics"] as? [String] == ["AI", "yes", "C++"])
    #expect((map["provider"] as? [String: Any])?["name"] as? String == "No")
    #expect(parts.body == "\nBody.\n")
  }

  @Test(arguments: ["AI", "Benzinga.com", "news", "Meta AI", "en-US", "article"])
  func shortSafeNamesArePlain(name: String) {
    #expect(FrontMatter.scalar(name) == name)
  }

  @Test(arguments: [
    "yes", "No", "ON", "off", "y", "null", "~", "012", "1.5", "C++", "a: b", "#x", "", " AI",
    "AI ", "2025-01-06", ".inf", "über", "x\ny", "{{x}}",
  ])
  func anythingElseIsQuoted(name: String) {
    #expect(FrontMatter.scalar(name).hasPrefix("\""))
  }

  @Test func hostileTitlesRoundTripThroughYams() throws {
    #expect(hostileTitles.count >= 40)
    for title in hostileTitles {
      var a = article(title: title)
      a.excerpt = title
      a.author = title
      a.topics = [title]
      a.providerName = title
      let text = FrontMatter.render(a)
      let parts = try #require(
        splitFile(text), "front matter not closed for \(title.debugDescription)")
      let map = try #require(try Yams.load(yaml: parts.yaml) as? [String: Any])
      let expected = title.replacingOccurrences(of: "\u{FEFF}", with: "")
      #expect(map["title"] as? String == expected, "title \(title.debugDescription)")
      #expect(map["excerpt"] as? String == (expected.isEmpty ? nil : expected))
      #expect(map["author"] as? String == (expected.isEmpty ? nil : expected))
      if !expected.isEmpty {
        #expect(map["topics"] as? [String] == [expected], "topic \(title.debugDescription)")
        #expect((map["provider"] as? [String: Any])?["name"] as? String == expected)
      }
    }
  }

  @Test func nulAndBOMAreDroppedNotWritten() throws {
    let text = FrontMatter.render(article(title: "a\u{0}b\u{FEFF}"))
    #expect(!text.utf8.contains(0))
    let parts = try #require(splitFile(text))
    let map = try #require(try Yams.load(yaml: parts.yaml) as? [String: Any])
    #expect(map["title"] as? String == "ab")
  }

  @Test func fileHasNoRawControlCharacters() {
    for title in hostileTitles {
      var a = article(title: title)
      a.body = "body \(title) \u{1B}[2J"
      let text = FrontMatter.render(a)
      let bad = text.unicodeScalars.filter {
        ($0.value < 0x20 && $0 != "\n" && $0 != "\t") || (0x7F...0x9F).contains($0.value)
      }
      #expect(bad.isEmpty, "raw control in file for \(title.debugDescription)")
    }
  }

  @Test func hostileTitlesRoundTripThroughPyYAML() throws {
    let python = ["/usr/bin/python3", "/usr/local/bin/python3"].first {
      FileManager.default.isExecutableFile(atPath: $0)
    }
    guard let python else {
      print("SKIPPED hostileTitlesRoundTripThroughPyYAML: python3 not found")
      return
    }
    let docs = try hostileTitles.map { title -> String in
      var a = article(title: title)
      a.topics = [title.isEmpty ? "x" : title]
      return try #require(splitFile(FrontMatter.render(a))).yaml
    }
    let script = """
      import sys, json
      try:
          import yaml
      except ImportError:
          print("NOYAML"); sys.exit(0)
      docs = json.load(sys.stdin)
      out = []
      for d in docs:
          m = yaml.safe_load(d)
          out.append([m["title"], m["topics"][0], m["webUrl"]])
      sys.stdout.write(json.dumps(out, ensure_ascii=True))
      """
    let p = Process()
    p.executableURL = URL(fileURLWithPath: python)
    p.arguments = ["-c", script]
    let input = Pipe()
    let output = Pipe()
    p.standardInput = input
    p.standardOutput = output
    try p.run()
    input.fileHandleForWriting.write(try JSONSerialization.data(withJSONObject: docs))
    try input.fileHandleForWriting.close()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    if String(decoding: data, as: UTF8.self).hasPrefix("NOYAML") {
      print("SKIPPED hostileTitlesRoundTripThroughPyYAML: PyYAML is not installed")
      return
    }
    #expect(p.terminationStatus == 0)
    let rows = try #require(try JSONSerialization.jsonObject(with: data) as? [[String]])
    #expect(rows.count == hostileTitles.count)
    for (title, row) in zip(hostileTitles, rows) {
      let expected = title.replacingOccurrences(of: "\u{FEFF}", with: "")
      #expect(
        row[0] == expected, "PyYAML read \(title.debugDescription) as \(row[0].debugDescription)")
      #expect(row[1] == (title.isEmpty ? "x" : expected))
      #expect(row[2] == "https://example.com/a")
    }
  }

  @Test func bodyIsSanitizedAndEndsWithOneNewline() {
    var a = article()
    a.body = "\n\nText <script>x</script>\u{1B}[1m\r\nnext\n\n\n"
    let text = FrontMatter.render(a)
    #expect(text.hasSuffix("---\n\nText <\u{200B}script>x</script>[1m\nnext\n"))
  }

  @Test(arguments: [
    (0.0, "1970-01-01T00:00:00Z"), (1_709_039_040.9, "2024-02-27T13:04:00Z"),
    (951_782_400, "2000-02-29T00:00:00Z"), (-86_401, "1969-12-30T23:59:59Z"),
    (4_102_444_800, "2100-01-01T00:00:00Z"), (1e15, "9999-12-31T23:59:59Z"),
  ])
  func datesAreRFC3339InUTC(seconds: Double, expected: String) {
    #expect(RFC3339.string(from: Date(timeIntervalSince1970: seconds)) == expected)
  }
}
