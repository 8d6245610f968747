import Foundation

/// What every format parser produces: one plain model for RSS 0.9x/1.0/2.0, Atom
/// 0.3/1.0, CDF and JSON Feed. Strings follow feedparser's conventions, which the
/// corpus compares: a construct that is HTML (RSS descriptions, content:encoded, Atom
/// `type="html"`/`"xhtml"`, JSON `content_html`, an RSS title that looks like HTML)
/// comes back as sanitized HTML; a plain-text construct (most titles, Atom
/// `type="text"`) comes back as the text itself, not escaped. URLs are absolute.
/// Produced by `FeedParser.parse`.
public struct ParsedFeed: Sendable, Equatable {
  public enum Format: String, Sendable, Equatable {
    case rss090, rss091, rss092, rss093, rss094, rss20, rss10, atom03, atom10, json10, json11,
      cdf, unknown
  }
  public var format: Format = .unknown
  /// Not well-formed but recovered (feedparser's `bozo`).
  public var bozo: Bool = false
  public var bozoMessage: String?
  public var title: String?
  /// The feed's alternate (web) link, absolute.
  public var link: String?
  public var subtitle: String?
  public var language: String?
  /// Schedule hints (used by the scheduler).
  public var ttlMinutes: Int?
  public var updatePeriod: String?
  public var updateFrequency: Int?
  public var skipHours: [Int] = []
  public var skipDays: [String] = []
  public var image: String?
  public var entries: [FeedItem] = []
  /// Items past `FeedParser.maxItems`, not read.
  public var droppedItems = 0
  public init() {}
}

public struct FeedItem: Sendable, Equatable {
  public var title: String?
  /// The entry's alternate link, absolute.
  public var link: String?
  /// guid / atom:id.
  public var id: String?
  public var published: Date?
  public var updated: Date?
  /// Display name only, no email.
  public var author: String?
  /// Summary / description (HTML); falls back to the content when a feed only has that.
  public var summary: String?
  /// The first full-content body (HTML).
  public var content: String?
  public var tags: [String] = []
  public var enclosures: [Enclosure] = []
  public var thumbnails: [Media] = []
  public var mediaContent: [Media] = []
  /// The base URL in effect for this item (xml:base or document URL): relative
  /// links inside `summary`/`content` are already resolved against it.
  public var baseURL: String?
  public init() {}

  public struct Enclosure: Sendable, Equatable {
    public var href: String
    public var type: String?
    public var length: String?
    public init(href: String, type: String? = nil, length: String? = nil) {
      self.href = href
      self.type = type
      self.length = length
    }
  }

  public struct Media: Sendable, Equatable {
    public var url: String
    public var type: String?
    public var medium: String?
    public var width: String?
    public var height: String?
    public var fileSize: String?
    public var duration: String?
    public init(url: String) { self.url = url }
  }
}
