import Articles
import Feeds
import Foundation

/// `feedspool bench-build`: the cold round's CPU work without the network and the spool
/// (a measuring tool for Benchmarks/build.sh). Every listed feed document is parsed and
/// every item with a usable link becomes its article file, as `Pipeline.poll` makes them,
/// on the calling thread. Nothing is written.
public enum BuildBenchmark {
  public struct Result: Sendable {
    public var feeds = 0
    public var items = 0
    public var articles = 0
    public var bytes = 0
    public var errors = 0
    public var seconds = 0.0
    /// FNV-1a of every file name and file (with `digest`): the output, to compare builds.
    public var digest: UInt64 = 0xcbf2_9ce4_8422_2325
  }

  /// `repeats` passes over the files of `listFile` (one path per line; each read once,
  /// before the clock starts), each feed served from `http://127.0.0.1/` + its file name.
  /// `digest` also hashes every article file (outside nothing: it is timed too).
  public static func run(listFile: String, repeats: Int = 1, digest: Bool = false) throws -> Result
  {
    let list = try String(contentsOfFile: listFile, encoding: .utf8)
    let paths = list.split(whereSeparator: \.isNewline).map(String.init).filter { !$0.isEmpty }
    var documents: [(url: String, bytes: [UInt8])] = []
    var r = Result()
    for p in paths {
      guard let d = FileManager.default.contents(atPath: p) else {
        r.errors += 1
        continue
      }
      let name = p.split(separator: "/").last ?? ""
      documents.append(("http://127.0.0.1/feeds/" + name, [UInt8](d)))
    }
    let fetched = Date(timeIntervalSince1970: 1_790_000_000)  // fixed: digests compare
    let origin = ArticleOrigin(feedURL: nil, topics: [], category: "News")
    let start = ContinuousClock.now
    for _ in 0..<max(1, repeats) {
      for (url, bytes) in documents {
        r.feeds += 1
        guard let parsed = try? FeedParser.parse(bytes, url: url, contentType: nil) else {
          r.errors += 1
          continue
        }
        r.items += parsed.entries.count
        for item in parsed.entries {
          // As `Pipeline.poll`: links, the dedup key (looked up there), the article.
          guard let link = ArticleBuilder.links(of: item, base: url) else { continue }
          let key = ArticleBuilder.dedupKey(link.canonical)
          guard
            let a = ArticleBuilder.fromItem(
              item, feed: parsed, feedURL: url, origin: origin, fetched: fetched, links: link)
          else { continue }
          let p = ArticleBuilder.pending(a, key: key)
          r.articles += 1
          r.bytes += p.contents.utf8.count + p.fileName.utf8.count
          if digest {
            for b in p.fileName.utf8 { r.digest = (r.digest ^ UInt64(b)) &* 0x100_0000_01b3 }
            for b in p.contents.utf8 { r.digest = (r.digest ^ UInt64(b)) &* 0x100_0000_01b3 }
          }
        }
      }
    }
    let d = ContinuousClock.now - start
    r.seconds = Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    return r
  }
}
