import Foundation
import Testing

@testable import Extract

@Suite struct ContentTests {
  @Test func navigationShareRelatedCommentsAndBioAreDropped() throws {
    let body = """
      <nav><a href="/">Home</a> <a href="/world">World news and more sections</a></nav>
      <div class="site-menu"><ul><li><a href="/a">Section A</a></li><li><a href="/b">Section B</a></li></ul></div>
      <article>
        <h1>Storm closes the harbour</h1>
        <div class="share-bar"><a href="#">Share on Facebook</a> <a href="#">Tweet this story</a></div>
        \(prose("the harbour", paragraphs: 5))
        <div class="author-bio"><p>Jo Sand writes about weather, boats, and the sea for us.</p></div>
      </article>
      <section class="related-articles"><h3>Related stories</h3><ul>
        <li><a href="/1">Another storm story that is also long enough to matter</a></li>
        <li><a href="/2">A third storm story that is also long enough to matter</a></li></ul></section>
      <div id="comments" class="comments-area post-comments"><h3>Comments</h3>
        <p>First comment: I really liked this article, it was great, thanks for writing it.</p>
        <p>Second comment: I did not like it, it was too long, and also rather wet.</p></div>
      <div class="cookie-banner"><p>We use cookies, to make this site work, accept them, please.</p></div>
      <footer><p>Copyright The Harbour Times, all rights reserved, since forever.</p></footer>
      """
    let p = try extract(page(head: "<title>Storm closes the harbour</title>", body: body))
    #expect(p.text.contains("Paragraph 1 about the harbour"))
    #expect(p.text.contains("Paragraph 5 about the harbour"))
    for junk in [
      "World news", "Section A", "Share on Facebook", "Jo Sand", "Another storm story",
      "First comment", "cookies", "Copyright",
    ] {
      #expect(!p.text.contains(junk), "\(junk) leaked into the body")
      #expect(!p.contentHTML.contains(junk), "\(junk) leaked into the HTML")
    }
  }

  /// Pages whose inline scripts compare with `<` (`i<arguments.length`) and run on for
  /// thousands of tokens before the next `>` were refused whole as holding an element
  /// with too many attributes (three of the corpus's pages, the Guardian's among them).
  @Test func inlineScriptsWithComparisonsDoNotLoseThePage() throws {
    let script =
      "<script>(function(){for(var i=0,n=a.length;i<n;i++){"
      + String(repeating: "set(a[i], b, c); ", count: 1500) + "}})();</script>"
    let p = try extract(page(head: "<title>Tide tables</title>" + script, body: prose("the tide")))
    #expect(p.text.contains("Paragraph 4 about the tide"))
    #expect(!p.text.contains("set(a[i]"))
  }

  @Test func teaserLinksTagListsAndDateLinesAreDropped() throws {
    let body = """
      <article>
      <span itemprop="datePublished">Monday, 22 January 2018, 00:13</span>
      <div class="post-date">Updated 5:27 am, November 20</div>
      \(prose("teasers"))
      <p><strong>DON'T MISS</strong></p>
      <p><a href="/1">Teaser headline number one for you</a> [INSIGHT]<br>
         <a href="/2">Teaser headline number two for you</a> [VIDEO]</p>
      <p>Tags: <a rel="tag" href="/t/a">alpha topic</a>, <a rel="tag" href="/t/b">beta topic</a></p>
      <p>The last paragraph, with commas, <a href="/ref">one link</a>, and more plain words.</p>
      </article>
      """
    let p = try extract(page(head: "", body: body))
    #expect(p.text.contains("The last paragraph"))
    #expect(p.text.contains("one link"))
    for junk in ["Teaser headline", "alpha topic", "22 January", "Updated 5:27"] {
      #expect(!p.text.contains(junk), "\(junk) leaked into the body")
    }
  }

  @Test func hiddenElementsAreDropped() throws {
    let body = """
      <article>\(prose("visible things"))
      <p style="display: none">Secret paragraph one, hidden by style, with commas, and words.</p>
      <p hidden>Secret paragraph two, hidden by attribute, with commas, and words.</p>
      <div aria-hidden="true"><p>Secret paragraph three, hidden from readers, with commas.</p></div>
      </article>
      """
    let p = try extract(page(head: "", body: body))
    #expect(p.text.contains("visible things"))
    #expect(!p.text.contains("Secret"))
  }

  @Test func listsCodeTablesQuotesAndCaptionsStayInOrder() throws {
    let body = """
      <article>
      <p>The introduction explains, at some length, and with several commas, what follows next.</p>
      <h2>Steps to follow</h2>
      <ol><li>First step of the recipe</li><li>Second step of the recipe</li></ol>
      <p>Then run the program shown below, which prints a greeting, and exits cleanly.</p>
      <pre><code>let greeting = "hello"
      print(greeting)</code></pre>
      <blockquote><p>A quotation from someone famous, with commas, and wisdom.</p></blockquote>
      <table><caption>Results by year</caption><tr><th>Year</th><th>Count</th></tr>
      <tr><td>2023</td><td>41</td></tr><tr><td>2024</td><td>57</td></tr></table>
      <figure><img src="/chart.png" alt="chart"><figcaption>Figure 1: counts per year</figcaption></figure>
      <p>The conclusion sums it all up, in a few words, with commas, and a full stop.</p>
      </article>
      """
    let p = try extract(page(head: "", body: body))
    let order = [
      "The introduction", "Steps to follow", "First step", "Second step", "Then run",
      "let greeting = \"hello\"", "print(greeting)", "A quotation", "Results by year", "2024",
      "Figure 1: counts per year", "The conclusion",
    ]
    var last = p.text.startIndex
    for piece in order {
      guard let r = p.text.range(of: piece, range: last..<p.text.endIndex) else {
        Issue.record("missing or out of order: \(piece)\n\(p.text)")
        return
      }
      last = r.upperBound
    }
    // The code keeps its line break; list items are separate lines.
    #expect(p.text.contains("let greeting = \"hello\"\nprint(greeting)"))
    #expect(p.text.contains("First step of the recipe\nSecond step of the recipe"))
    #expect(p.contentHTML.contains("<ol><li>First step"))
    #expect(p.contentHTML.contains("<pre><code>"))
    #expect(p.contentHTML.contains("<figcaption>Figure 1"))
    #expect(p.contentHTML.contains("src=\"https://example.com/chart.png\""))
    #expect(p.images.contains("https://example.com/chart.png"))
  }

  @Test func dataTableCellsKeepTheirShortContent() throws {
    let rows = (1...4).map {
      "<tr><td><div>App \($0)</div></td><td><div>\($0 * 10) MB</div></td>"
        + "<td><div>\($0) MB</div></td></tr>"
    }.joined()
    let body = """
      <article>\(prose("sizes", paragraphs: 3))
      <table><tr><td><div>Application</div></td><td><div>Original</div></td><td><div>Small</div></td></tr>
      \(rows)</table></article>
      """
    let p = try extract(page(head: "", body: body))
    for cell in ["Application", "Original", "App 4", "40 MB"] {
      #expect(p.text.contains(cell), "\(cell) missing")
    }
  }

  @Test func scriptsStylesAndFramesNeverReachTheOutput() throws {
    let body = """
      <article>
      <script>document.write("EVIL_SCRIPT_TEXT, with commas, and more, and more, and more")</script>
      <style>.x { content: "EVIL_STYLE_TEXT, with commas, and more, and more" }</style>
      <iframe src="https://ads.example/frame">EVIL_FRAME_TEXT</iframe>
      <noscript><p>EVIL_NOSCRIPT_TEXT, with commas, and more, and more, and more</p></noscript>
      \(prose("safety"))
      <p onclick="alert(1)">A paragraph with a handler, commas, and <a href="javascript:alert(1)">a link</a>.</p>
      <object data="x.swf">EVIL_OBJECT</object>
      </article>
      """
    let p = try extract(page(head: "<script>var EVIL_HEAD = 1</script>", body: body))
    #expect(p.text.contains("safety"))
    for evil in ["EVIL", "<script", "<style", "<iframe", "onclick", "javascript:", "<object"] {
      #expect(!p.text.contains(evil))
      #expect(!p.contentHTML.contains(evil))
    }
  }

  @Test func lazyImagesGetTheirRealSource() throws {
    let body = """
      <article>\(prose("pictures"))
      <img src="data:image/gif;base64,R0lGOD" data-src="/photos/real.jpg" alt="a photo">
      </article>
      """
    let p = try extract(page(head: "", body: body))
    #expect(p.images == ["https://example.com/photos/real.jpg"])
    #expect(p.contentHTML.contains("src=\"https://example.com/photos/real.jpg\""))
  }

  @Test func baseHrefResolvesLinks() throws {
    let head =
      "<base href=\"https://cdn.example.org/assets/\"><link rel=\"canonical\" href=\"/story\">"
    let body =
      "<article>\(prose("bases"))<p>See <a href=\"more.html\">more here</a>, please, thanks.</p></article>"
    let p = try extract(page(head: head, body: body))
    #expect(p.canonicalURL == "https://cdn.example.org/story")
    #expect(p.contentHTML.contains("href=\"https://cdn.example.org/assets/more.html\""))
  }

  @Test func siblingParagraphsOutsideTheBestBlockAreMerged() throws {
    let body = """
      <div class="wrap">
        <div class="story-part">\(prose("part one", paragraphs: 4))</div>
        <div class="ad">Advertisement</div>
        <div class="story-part">\(prose("part two", paragraphs: 4))</div>
      </div>
      <div class="sidebar"><p>Sidebar text, with commas, that nobody wants, in the body.</p></div>
      """
    let p = try extract(page(head: "", body: body))
    #expect(p.text.contains("part one"))
    #expect(p.text.contains("part two"))
    #expect(!p.text.contains("Sidebar"))
  }

  @Test func headingThatRepeatsTheTitleIsDropped() throws {
    let body = "<article><h1>Rivers rise after the storm</h1>\(prose("rivers"))</article>"
    let p = try extract(
      page(head: "<title>Rivers rise after the storm - Site</title>", body: body))
    #expect(p.title == "Rivers rise after the storm")
    #expect(!p.text.contains("Rivers rise after the storm"))
  }

  @Test func commandJSONIsOneLineOfValidJSON() throws {
    let page = ExtractedPage(
      title: "Quote \" and \\ backslash", byline: nil, excerpt: "line\nbreak\u{1}",
      text: "tab\there \u{2028}", images: ["https://example.com/a.jpg"])
    let json = Extractor.commandJSON(page, markdown: nil)
    #expect(!json.contains("\n"))
    let object = try #require(
      try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
    #expect(object["title"] as? String == "Quote \" and \\ backslash")
    #expect(object["excerpt"] as? String == "line\nbreak\u{1}")
    #expect(object["text"] as? String == "tab\there \u{2028}")
    #expect(object["byline"] is NSNull)
    #expect(object["markdown"] is NSNull)
    #expect(object["images"] as? [String] == ["https://example.com/a.jpg"])
  }

  @Test func extractListPrintsOneLinePerPage() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent(
      "extract-list-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let pagePath = dir.appendingPathComponent("a.html").path
    try Data(page(head: "<title>Listed</title>", body: prose("lists"))).write(
      to: URL(fileURLWithPath: pagePath))
    let listPath = dir.appendingPathComponent("list.txt").path
    try "\(pagePath)\thttps://example.com/a\n".write(
      toFile: listPath, atomically: true, encoding: .utf8)
    #expect(throws: ExtractError.unreadable(dir.appendingPathComponent("none").path)) {
      try Extractor.extractList(dir.appendingPathComponent("none").path)
    }
    try Extractor.extractList(listPath)
  }
}

/// A page of more nodes than `PageTree.maxNodes` is read from its beginning, in document
/// order, and the rest left out: its first paragraphs are the article.
@Test func aPageOfTooManyNodesKeepsItsBeginning() throws {
  let n = PageTree.maxNodes / 2 + 10  // two nodes a paragraph: element and text
  let paragraphs = (0..<n).map {
    "<p>Paragraph \($0) of the endless story, with commas, told at length.</p>"
  }
  let p = try extract(
    page(head: "<title>Endless</title>", body: "<article>\(paragraphs.joined())</article>"))
  #expect(p.text.contains("Paragraph 0 of the endless story"))
  #expect(p.text.contains("Paragraph 1000 of the endless story"))
  #expect(!p.text.contains("Paragraph \(n - 1) of"))
}
