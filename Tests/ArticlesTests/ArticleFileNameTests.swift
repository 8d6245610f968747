import Foundation
import Testing

@testable import Articles

@Suite struct ArticleFileNameTests {
  let date = Date(timeIntervalSince1970: 1_709_039_040)  // 2024-02-27T13:04:00Z

  @Test func nameIsDateAndSlugOfTheTitle() {
    let n = ArticleFileName(
      title: "Alibaba's $1B Bet on AI Start-Up Moonshot Marks Major Push", published: date)
    #expect(n.fileName == "2024-02-27-alibabas-1b-bet-on-ai-start-up-moonshot-marks-major-push.md")
  }

  @Test func dateIsTheUTCDay() {
    // 2024-02-27T23:30:00-05:00 is already the 28th in UTC.
    let late = Date(timeIntervalSince1970: 1_709_094_600)
    #expect(ArticleFileName(title: "x", published: late).date == "2024-02-28")
  }

  @Test(arguments: [
    ("Crème Brûlée à Zürich", "creme-brulee-a-zurich"),
    ("Straße in Łódź, Ærø", "strasse-in-lodz-aero"),
    ("Привет мир", "privet-mir"),
    ("Ελληνικά νέα", "ellenika-nea"),
    ("AT&T buys Time Warner", "at-and-t-buys-time-warner"),
    ("  --Hello___World!!--  ", "hello-world"),
    ("Release 2.0: what’s new?", "release-2-0-whats-new"),
  ])
  func slugIsLowerLatinWithSingleDashes(title: String, expected: String) {
    #expect(ArticleFileName.slug(title) == expected)
  }

  @Test(arguments: [
    ("中国 AI", "zhong-guo-ai"),
    ("中文新闻", "zhong-wen-xin-wen"),
    ("日本語のニュース", "ri-ben-yu-nonyusu"),
    ("한국어 뉴스", "hangugeo-nyuseu"),
    ("がっこう", "gakkou"),
    ("コーヒー・ショップ", "kohi-shoppu"),
    ("きゃく", "kyaku"),
    ("ティファニー", "tifani"),
    ("Ελληνικά", "ellenika"),
    ("Щука", "suka"),
    ("Հայերեն", "hayeren"),
    ("ＡＢＣ１２３", "abc123"),
    ("emoji 🚀 ✓ → launch", "emoji-launch"),
  ])
  func commonScriptsAreTransliteratedFromTheTable(title: String, expected: String) {
    #expect(ArticleFileName.slug(title) == expected)
    var out: [UInt8] = []
    #expect(ArticleFileName.tableSlug(title, into: &out), "needed ICU")
  }

  /// Scripts the table leaves out go to ICU, which knows them.
  @Test func otherScriptsAreTransliteratedByICU() {
    var out: [UInt8] = []
    #expect(!ArticleFileName.tableSlug("ภาษาไทย", into: &out))
    let s = ArticleFileName.slug("ภาษาไทย news")
    #expect(s.hasSuffix("-news") && s.count > 6 && !s.hasPrefix("article-"))
    #expect(ArticleFileName.slug("हिन्दी") != ArticleFileName.slug("हिन्दी समाचार"))
  }

  @Test(arguments: ["", "!!!", "🚀🚀", "\u{200B}", "   ", "---", "..", "/"])
  func slugIsNeverEmpty(title: String) {
    let s = ArticleFileName.slug(title)
    #expect(s.hasPrefix("article-") && s.count == 16)
  }

  @Test func differentUnusableTitlesGetDifferentNames() {
    #expect(ArticleFileName.slug("🚀") != ArticleFileName.slug("🎉"))
  }

  @Test(arguments: [
    "../../etc/passwd", "/absolute/path", "-rf --no-preserve-root", ".hidden", "a\u{0}b\u{1B}[31m",
    "con\\nul", "\u{202E}gnp.exe", String(repeating: "../", count: 300), "hostile-escape/../x",
  ])
  func hostileTitlesNeverMakeAPath(title: String) {
    let name = ArticleFileName(title: title, published: date).fileName
    #expect(name.hasPrefix("2024-02-27-"))
    #expect(name.hasSuffix(".md"))
    let slug = name.dropFirst(11).dropLast(3)
    #expect(!slug.isEmpty && slug.count <= 80)
    #expect(slug.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "-" })
    #expect(slug.first != "-" && slug.last != "-" && !slug.contains("--"))
  }

  @Test func slugIsCutToEightyCharactersAtAWordBoundary() {
    let title = String(repeating: "word ", count: 40)
    let s = ArticleFileName.slug(title)
    #expect(s.count <= 80 && s.count >= 40)
    #expect(s.hasSuffix("word"))
    let one = ArticleFileName.slug(String(repeating: "x", count: 200))
    #expect(one.count == 80)
  }

  @Test func uniquingAddsASuffixWithinTheLimit() {
    let n = ArticleFileName(title: "Same title", published: date)
    #expect(n.fileName(uniquingWith: 1) == "2024-02-27-same-title.md")
    #expect(n.fileName(uniquingWith: 2) == "2024-02-27-same-title-2.md")
    let long = ArticleFileName(title: String(repeating: "x", count: 200), published: date)
    let u = long.fileName(uniquingWith: 12)
    #expect(u.hasSuffix("-12.md") && u.count == 11 + 80 + 3)
  }
}
