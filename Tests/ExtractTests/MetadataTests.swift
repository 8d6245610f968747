import Foundation
import Testing

@testable import Extract

/// A body long enough to be found by the content scorer, with commas so it scores.
func prose(_ topic: String, paragraphs: Int = 4) -> String {
  (1...paragraphs).map { n in
    "<p>Paragraph \(n) about \(topic), which goes on for a while, with commas, clauses, "
      + "and enough words that any reader would call it the body of the article, "
      + "not a caption or a link.</p>"
  }.joined(separator: "\n")
}

func page(head: String, body: String) -> [UInt8] {
  Array("<!DOCTYPE html><html><head>\(head)</head><body>\(body)</body></html>".utf8)
}

func extract(
  _ bytes: [UInt8], url: String = "https://example.com/news/story.html",
  contentType: String? = nil
) throws -> ExtractedPage {
  try Extractor.extract(bytes, url: url, contentType: contentType)
}

@Suite struct MetadataTests {
  /// A `<title>`, `og:title` or `<h1>` of megabytes is read up to 1,000 characters (the
  /// title cleaner's searches over 9.6 MB of title took 7 s and 250 MB).
  @Test func hugeTitlesAreCut() throws {
    let huge = String(repeating: "Word ", count: 200_000)
    for head in ["<title>\(huge)</title>", "<meta property=\"og:title\" content=\"\(huge)\">"] {
      let p = try extract(page(head: head, body: "<h1>\(huge)</h1>" + prose("titles")))
      let title = try #require(p.title)
      #expect(title.hasPrefix("Word Word"))
      #expect(title.count <= Metadata.maxTitleCharacters, "\(head.prefix(20))")
    }
  }

  /// A JSON-LD script over 1 MiB is not read (JSONSerialization takes about a hundred
  /// times its size), nor a `<base href>` over 8 KiB (every link would be made from it).
  @Test func oversizedJSONLDAndBaseAreIgnored() throws {
    let graph = Array(repeating: "{\"@type\":\"Thing\",\"name\":\"x\"}", count: 40_000)
      .joined(separator: ",")
    let ld =
      "<script type=\"application/ld+json\">{\"@graph\":[\(graph),"
      + "{\"@type\":\"NewsArticle\",\"headline\":\"From JSON-LD\"}]}</script>"
    let base = "<base href=\"https://other.example/\(String(repeating: "a/", count: 5_000))\">"
    let p = try extract(
      page(
        head: "<title>From the title</title>" + ld + base,
        body: "<article><h1>From the title</h1>" + prose("bases") + "<img src=\"i.png\"></article>")
    )
    #expect(p.title == "From the title")
    #expect(p.contentHTML.contains("https://example.com/news/i.png"))
  }

  @Test func jsonLDGraphGivesTitleAuthorsPublisherAndDate() throws {
    let ld = """
      <script type="application/ld+json">
      {"@context":"https://schema.org","@graph":[
        {"@type":"WebSite","name":"Example Site Website"},
        {"@type":"NewsArticle","headline":"Rivers rise after the storm",
         "author":[{"@type":"Person","name":"Ana Lima"},{"@type":"Person","name":"Bo Chen"}],
         "datePublished":"2024-02-27T13:04:00+01:00",
         "publisher":{"@type":"Organization","name":"The Example Times"},
         "description":"Water levels rose overnight."}]}
      </script>
      <meta property="og:title" content="Rivers rise (og)">
      <title>Rivers rise after the storm | The Example Times</title>
      """
    let p = try extract(page(head: ld, body: "<article>\(prose("rivers"))</article>"))
    #expect(p.title == "Rivers rise after the storm")
    #expect(p.byline == "Ana Lima, Bo Chen")
    #expect(p.siteName == "The Example Times")
    #expect(p.excerpt == "Water levels rose overnight.")
    #expect(p.publishedTime == "2024-02-27T13:04:00+01:00")
    #expect(p.published == Date(timeIntervalSince1970: 1_709_035_440))
  }

  @Test func jsonLDTopLevelArrayAndBrokenScriptsAreTolerated() throws {
    let head = """
      <script type="application/ld+json">{ not json at all </script>
      <script type="application/ld+json">
      [{"@type":"BreadcrumbList"},{"@type":["BlogPosting"],"name":"A post",
        "author":"Kim Park","datePublished":"2023-05-01"}]
      </script>
      """
    let p = try extract(page(head: head, body: "<article>\(prose("posts"))</article>"))
    #expect(p.title == "A post")
    #expect(p.byline == "Kim Park")
    #expect(p.publishedTime == "2023-05-01")
  }

  @Test func jsonLDNameThatIsThePublisherIsNotTheTitle() throws {
    let head = """
      <script type="application/ld+json">
      {"@context":"http://schema.org","@type":"NewsArticle","name":"Daily Planet",
       "headline":"Hero saves the city again","publisher":{"@type":"Organization","name":"Daily Planet"}}
      </script>
      <title>Hero saves the city again, and again - Daily Planet</title>
      """
    let p = try extract(page(head: head, body: "<article>\(prose("heroes"))</article>"))
    #expect(p.title == "Hero saves the city again")
    #expect(p.siteName == "Daily Planet")
  }

  @Test func openGraphAndArticleTags() throws {
    let head = """
      <meta property="og:title" content="Open Graph headline">
      <meta property="og:site_name" content="Graph Daily">
      <meta property="og:description" content="What the story says.">
      <meta property="article:published_time" content="2022-10-05T08:00:00Z">
      <meta property="article:author" content="https://graph.example/people/lee">
      <meta property="og:image" content="/img/lead.jpg">
      <meta property="og:url" content="https://graph.example/story?id=1">
      <title>Something else entirely - Graph Daily</title>
      """
    let p = try extract(page(head: head, body: "<main>\(prose("graphs"))</main>"))
    #expect(p.title == "Open Graph headline")
    #expect(p.siteName == "Graph Daily")
    #expect(p.excerpt == "What the story says.")
    #expect(p.publishedTime == "2022-10-05T08:00:00Z")
    // An article:author that is a profile URL is not a name.
    #expect(p.byline == nil)
    #expect(p.images.first == "https://example.com/img/lead.jpg")
    #expect(p.canonicalURL == "https://graph.example/story?id=1")
  }

  @Test func twitterCardFillsInWhenNothingElse() throws {
    let head = """
      <meta name="twitter:title" content="Bird-sized title">
      <meta name="twitter:description" content="Short and sweet.">
      """
    let p = try extract(page(head: head, body: "<div>\(prose("birds"))</div>"))
    #expect(p.title == "Bird-sized title")
    #expect(p.excerpt == "Short and sweet.")
  }

  @Test func metaAuthorAndDublinCore() throws {
    let head = """
      <meta name="DC.creator" content="Dana Core">
      <meta name="author" content="Someone Else">
      <meta name="DC.title" content="Dublin title">
      <meta name="date" content="2021-03-04">
      """
    let p = try extract(page(head: head, body: "<div>\(prose("metadata"))</div>"))
    #expect(p.byline == "Dana Core")
    #expect(p.title == "Dublin title")
    #expect(p.publishedTime == "2021-03-04")
  }

  @Test func metaAuthorAloneIsTheByline() throws {
    let p = try extract(
      page(head: "<meta name=\"author\" content=\"Mia Wong\">", body: prose("authors")))
    #expect(p.byline == "Mia Wong")
  }

  @Test func timeDatetimeAndItempropWhenNoMetaDate() throws {
    let body = """
      <article><h1 itemprop="headline">Headline from microdata</h1>
      <time datetime="2019-07-24T05:36:09+01:00" pubdate>July 24</time>
      \(prose("time"))</article>
      """
    let p = try extract(page(head: "", body: body))
    #expect(p.publishedTime == "2019-07-24T05:36:09+01:00")
    #expect(p.published == Date(timeIntervalSince1970: 1_563_942_969))
    #expect(p.title == "Headline from microdata")
  }

  @Test func itempropDatePublishedOnMeta() throws {
    let body = """
      <div itemscope itemtype="https://schema.org/Article">
      <meta itemprop="datePublished" content="2020-01-02T03:04:05Z">
      \(prose("microdata"))</div>
      """
    let p = try extract(page(head: "", body: body))
    #expect(p.publishedTime == "2020-01-02T03:04:05Z")
  }

  @Test(arguments: [
    (
      "How the river rose again overnight | The Daily River", "How the river rose again overnight",
      "The Daily River"
    ),
    (
      "How the river rose again overnight - The Daily River", "How the river rose again overnight",
      "The Daily River"
    ),
    (
      "How the river rose again overnight — The Daily River", "How the river rose again overnight",
      "The Daily River"
    ),
    (
      "The Daily River | How the river rose again overnight", "How the river rose again overnight",
      "The Daily River"
    ),
  ])
  func titleLosesItsSiteName(raw: String, title: String, site: String) throws {
    let p = try extract(page(head: "<title>\(raw)</title>", body: prose("rivers")))
    #expect(p.title == title)
    #expect(p.siteName == site)
  }

  @Test func shortTitleKeepsItsSeparator() throws {
    // Cutting would leave two words: the whole title is the better title.
    let p = try extract(page(head: "<title>Release notes - Widget</title>", body: prose("notes")))
    #expect(p.title == "Release notes - Widget")
  }

  @Test func bylineFromThePageWhenMetadataHasNone() throws {
    let body = """
      <article><div class="byline">By <a rel="author" href="/people/ola">Ola Nord</a></div>
      \(prose("bylines"))</article>
      """
    let p = try extract(page(head: "", body: body))
    #expect(p.byline == "By Ola Nord")
    #expect(!p.text.contains("Ola Nord"))
  }

  @Test func excerptFallsBackToTheFirstParagraph() throws {
    let p = try extract(page(head: "", body: "<article>\(prose("excerpts"))</article>"))
    #expect(p.excerpt?.hasPrefix("Paragraph 1 about excerpts") == true)
  }

  @Test func langFromTheHTMLElement() throws {
    let bytes = Array(
      "<html lang=\"pt-BR\"><head></head><body>\(prose("idioma"))</body></html>".utf8)
    #expect(try extract(bytes).lang == "pt-BR")
  }

  @Test func doubleEscapedEntitiesInMetadataAreDecoded() throws {
    let head = "<meta property=\"og:title\" content=\"Fish &amp;amp; chips &#x26;#8211; a story\">"
    let p = try extract(page(head: head, body: prose("fish")))
    #expect(p.title == "Fish & chips – a story")
  }
}

@Suite struct DateParserTests {
  @Test(arguments: [
    ("2021-11-01T10:52:50+0100", 1_635_760_370.0),
    ("2021-11-01T09:52:50Z", 1_635_760_370.0),
    ("2021-11-01T09:52:50.123Z", 1_635_760_370.0),
    ("2021-11-01 09:52:50", 1_635_760_370.0),
    ("Mon, 01 Nov 2021 09:52:50 GMT", 1_635_760_370.0),
    ("01 Nov 2021 04:52:50 EST", 1_635_760_370.0),
    ("2021-11-01", 1_635_724_800.0),
  ])
  func parses(raw: String, seconds: Double) {
    #expect(DateParser.parse(raw) == Date(timeIntervalSince1970: seconds))
  }

  @Test func rejectsNonsense() {
    #expect(DateParser.parse("yesterday") == nil)
    #expect(DateParser.parse("2021-13-45") == nil)
  }
}
