import Foundation

/// One article as it goes into the spool: the front matter fields of DESIGN section 1
/// plus the Markdown body. Built by the normalizer from a feed item or an extracted page.
public struct Article: Sendable, Equatable {
  public var category: String = "news"
  /// Plain text: entities decoded, tags stripped, whitespace folded.
  public var title: String
  /// Plain text, at most a few sentences.
  public var excerpt: String?
  /// The instant written as `publishedDateTime` (RFC 3339, UTC).
  public var published: Date
  /// Whether `published` came from the source or is the first-seen time.
  public var dateSource: DateSource
  /// The link as the source gave it; written only when it differs from `webUrl`.
  public var originalURL: String?
  /// The canonical URL: the dedup key.
  public var webURL: String
  public var type: String = "article"
  public var providerName: String?
  public var providerDomain: String?
  public var topics: [String] = []
  public var images: [Image] = []
  // Extra fields the daemon knows (written after the seeds' ones).
  public var author: String?
  /// The source feed's URL, for feed items.
  public var feed: String?
  /// The item's guid / Atom id.
  public var id: String?
  public var language: String?
  public var fetched: Date
  /// Markdown body.
  public var body: String

  public enum DateSource: String, Sendable, Equatable {
    case source
    case fetched
  }

  public struct Image: Sendable, Equatable {
    public var url: String
    public var width: Int?
    public var height: Int?
    public init(url: String, width: Int? = nil, height: Int? = nil) {
      self.url = url
      self.width = width
      self.height = height
    }
  }

  public init(
    title: String, webURL: String, published: Date, dateSource: DateSource, fetched: Date,
    body: String
  ) {
    self.title = title
    self.webURL = webURL
    self.published = published
    self.dateSource = dateSource
    self.fetched = fetched
    self.body = body
  }
}
