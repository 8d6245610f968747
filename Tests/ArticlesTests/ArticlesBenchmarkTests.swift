import Foundation
import Testing

@testable import Articles

/// Throughput figures (thread CPU time), not assertions about speed: run with
/// `FEEDSPOOL_BENCH=1 swift test -c release --filter ArticlesBenchmark`. With
/// `FEEDSPOOL_CORPUS` pointing at a directory of `*/page.html` (e.g. the shared
/// corpus' `articles/`), whole real pages are converted too.
@Suite(.enabled(if: ProcessInfo.processInfo.environment["FEEDSPOOL_BENCH"] != nil))
struct ArticlesBenchmarkTests {
  /// CPU time of this thread (robust on a loaded shared machine), in seconds.
  func seconds(_ body: () -> Void) -> Double {
    func now() -> Double {
      var ts = timespec()
      clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
      return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
    let start = now()
    body()
    return now() - start
  }

  @Test func canonicalizeThroughput() {
    let urls = (0..<200_000).map {
      "HTTPS://www.Example.com:443/news/2024/\($0)/a%7estory/./x?id=\($0)&utm_source=rss&fbclid=abc#frag"
    }
    var count = 0
    let t = seconds {
      for u in urls where CanonicalURL.canonicalize(u) != nil { count += 1 }
    }
    #expect(count == urls.count)
    print(
      "BENCH canonicalize: \(urls.count) URLs in \(t) s = \(Int(Double(urls.count) / t)) URLs/s")
  }

  @Test func frontMatterThroughput() {
    var a = Article(
      title: "Alibaba's $1B Bet: \"AI\" {{ x }} 🚀", webURL: "https://example.com/a",
      published: Date(), dateSource: .source, fetched: Date(),
      body: String(repeating: "A paragraph of text with <code> and words.\n\n", count: 100))
    a.excerpt = String(repeating: "excerpt ", count: 30)
    a.topics = ["AI", "Tech"]
    var bytes = 0
    let n = 20_000
    let t = seconds {
      for _ in 0..<n { bytes += FrontMatter.render(a).utf8.count }
    }
    print("BENCH front matter + 4.5 KB body: \(n) files in \(t) s = \(Int(Double(n) / t)) files/s")
  }

  @Test func corpusPagesConversion() throws {
    guard let dir = ProcessInfo.processInfo.environment["FEEDSPOOL_CORPUS"] else { return }
    let fm = FileManager.default
    let cases = try fm.contentsOfDirectory(atPath: dir).sorted()
    var pages: [[UInt8]] = []
    for c in cases {
      if let d = fm.contents(atPath: dir + "/" + c + "/page.html") { pages.append(Array(d)) }
    }
    let total = pages.reduce(0) { $0 + $1.count }
    var out = 0
    var images = 0
    var bodies: [String] = []
    let t = seconds {
      for p in pages {
        let r = MarkdownConverter.convert(bytes: p, baseURL: "http://fakehost/test/page.html")
        out += r.markdown.utf8.count
        images += r.images.count
        bodies.append(r.markdown)
      }
    }
    #expect(bodies.filter { activeHTML(in: $0) != nil }.isEmpty)
    print(
      "BENCH convert: \(pages.count) pages, \(total / 1_000_000) MB in \(t) s = \(Double(total) / t / 1e6) MB/s; \(out / 1000) KB Markdown, \(images) images"
    )
  }
}
