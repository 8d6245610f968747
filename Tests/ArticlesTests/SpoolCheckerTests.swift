import Foundation
import Testing

@testable import Articles

/// End to end: article files made from hostile titles, URLs and bodies, written as a
/// Maildir spool, must pass the project's strict spool checker
/// (`shared/hostile/check_spool.py`, beside the repository). Skipped, with a message,
/// when python3, PyYAML or the checker is missing.
@Suite struct SpoolCheckerTests {
  static let checker: String? = {
    let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
      .deletingLastPathComponent().deletingLastPathComponent()
    let candidates = [
      repo.deletingLastPathComponent().appendingPathComponent("shared/hostile/check_spool.py").path,
      "/work/shared/hostile/check_spool.py",
    ]
    return candidates.first { FileManager.default.fileExists(atPath: $0) }
  }()

  static let hostileBodies: [String] = [
    "<p>Hello <script>alert(1)</script> world</p>",
    "<img src=x onerror=alert(1)><p>text</p>",
    "<a href=\"javascript:alert(1)\">click me</a>",
    "<iframe src=\"https://evil.example/\"></iframe><p>after</p>",
    "<p>&lt;script&gt;alert('escaped')&lt;/script&gt; and javascript:void(0)</p>",
    "<pre>&lt;iframe src=x onload=alert(1)&gt; data:text/html,&lt;b&gt;</pre>",
    "<p>controls \u{1B}[31m red \u{7} bell \u{0} nul</p>",
    "<meta http-equiv=\"refresh\" content=\"0;url=https://evil.example\"><p>x</p>",
    "<object data=\"x.swf\"></object><embed src=\"y.swf\"><p>embedded</p>",
    "<p><a href=\"https://ok.example/a?next=vbscript:x\">link</a></p>",
  ]

  @Test func hostileArticlesPassTheSpoolChecker() throws {
    guard let checker = SpoolCheckerTests.checker,
      FileManager.default.isExecutableFile(atPath: "/usr/bin/python3")
    else {
      print("SKIPPED hostileArticlesPassTheSpoolChecker: python3 or check_spool.py not found")
      return
    }
    let root = FileManager.default.temporaryDirectory
      .appendingPathComponent("articles-spool-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
    let spool = root.appendingPathComponent("spool")
    defer { try? FileManager.default.removeItem(at: root) }
    for d in ["tmp", "new", "cur"] {
      try FileManager.default.createDirectory(
        at: spool.appendingPathComponent(d), withIntermediateDirectories: true)
    }
    var names: Set<String> = []
    for (k, title) in hostileTitles.enumerated() {
      let html = SpoolCheckerTests.hostileBodies[k % SpoolCheckerTests.hostileBodies.count]
      let link = "https://Example.com:443/a/../story/\(k)?utm_source=x&title=\(k)#frag"
      let web = try #require(CanonicalURL.canonicalize(link))
      let body = MarkdownConverter.convert(html: html, baseURL: web)
      var a = Article(
        title: HTMLText.foldWhitespace(title), webURL: web,
        published: Date(timeIntervalSince1970: 1_700_000_000 + Double(k)), dateSource: .source,
        fetched: Date(timeIntervalSince1970: 1_700_100_000), body: body.markdown)
      a.originalURL = link
      a.excerpt = HTMLText.excerpt(fromHTML: html)
      a.author = title
      a.id = title
      a.topics = [title.isEmpty ? "none" : title]
      a.providerName = ProviderName.fallback(domain: "www.example.com")
      a.providerDomain = RegistrableDomain.of(url: web)
      a.images = body.images
      let fileName = a.fileName
      var n = 1
      var name = fileName.fileName
      while names.contains(name) {
        n += 1
        name = fileName.fileName(uniquingWith: n)
      }
      names.insert(name)
      try Data(a.fileText.utf8).write(to: spool.appendingPathComponent("new/" + name))
    }
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
    p.arguments = [checker, spool.path, "--sandbox", root.path]
    let out = Pipe()
    p.standardOutput = out
    p.standardError = out
    try p.run()
    let report = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    p.waitUntilExit()
    if report.contains("pip install pyyaml") {
      print("SKIPPED hostileArticlesPassTheSpoolChecker: PyYAML is not installed")
      return
    }
    #expect(p.terminationStatus == 0, "check_spool.py failed:\n\(report)")
    #expect(report.contains("\(hostileTitles.count) files, 0 errors"), "\(report)")
  }
}
