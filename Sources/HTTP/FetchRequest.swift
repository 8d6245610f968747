/// Bounds of one fetch (all its redirect hops together).
public struct FetchLimits: Sendable, Hashable {
  /// Largest body accepted, counted on the DECOMPRESSED bytes: a transfer that goes past it
  /// is aborted and ends `.tooLarge`, so a gzip bomb stops at the cap.
  public var maxBodyBytes: Int
  /// Time allowed to establish each connection (TCP and TLS).
  public var connectTimeout: Duration
  /// Time allowed for the whole fetch, redirects included.
  public var totalTimeout: Duration
  /// A transfer slower than `lowSpeedLimit` bytes per second for `lowSpeedTime` is aborted
  /// and ends `.timeout`.
  public var lowSpeedLimit: Int
  public var lowSpeedTime: Duration
  /// Redirects followed at most; one more ends `.tooManyRedirects`.
  public var maxRedirects: Int

  public init(
    maxBodyBytes: Int = 10 * 1024 * 1024,
    connectTimeout: Duration = .seconds(15),
    totalTimeout: Duration = .seconds(60),
    lowSpeedLimit: Int = 1000,
    lowSpeedTime: Duration = .seconds(30),
    maxRedirects: Int = 5
  ) {
    self.maxBodyBytes = maxBodyBytes
    self.connectTimeout = connectTimeout
    self.totalTimeout = totalTimeout
    self.lowSpeedLimit = lowSpeedLimit
    self.lowSpeedTime = lowSpeedTime
    self.maxRedirects = maxRedirects
  }
}

/// Which non-public destinations the operator allows (`network.allow` in the config).
public struct NetworkPolicy: Sendable, Hashable {
  /// "host:port" entries, e.g. "127.0.0.1:8080", "intranet.example:443", "[::1]:8080".
  /// An entry matches the host:port of a hop's URL, or the ip:port actually connected.
  public var allow: [String]

  public init(allow: [String] = []) {
    self.allow = allow
  }

  /// The entries in the canonical form used for matching: lower-cased, IPv6 in brackets.
  var normalizedAllow: Set<String> {
    Set(allow.compactMap(Self.normalize))
  }

  /// "HOST:PORT" -> "host:port"; an IPv6 host gets its brackets and compressed form;
  /// nil when there is no numeric port.
  static func normalize(_ entry: String) -> String? {
    let trimmed = entry.trimmingASCIIWhitespace()
    guard let colon = trimmed.lastIndex(of: ":") else { return nil }
    let host = trimmed[..<colon]
    let port = trimmed[trimmed.index(after: colon)...]
    guard !host.isEmpty, let portNumber = Int(port), (0...65535).contains(portNumber) else {
      return nil
    }
    return key(host: String(host), port: portNumber)
  }

  /// The matching key of a host (name or literal, brackets optional) and a port.
  static func key(host: String, port: Int) -> String {
    if let address = IPAddress(host) { return "\(address.hostForm):\(port)" }
    var name = host.lowercased()
    if name.hasSuffix(".") { name.removeLast() }
    return "\(name):\(port)"
  }
}

/// One fetch: a URL, its stored validators, and whose choice the URL was.
public struct FetchRequest: Sendable, Hashable {
  public var url: String
  /// Sent back as If-None-Match, byte for byte as received (see `HTTPHeaders`).
  public var etag: String?
  /// Sent back as If-Modified-Since, byte for byte as received.
  public var lastModified: String?
  /// True when the URL is the operator's choice (from the config): its FIRST hop may connect
  /// to any address. Every redirect hop, and every hop of an untrusted request (URLs that
  /// came from the network), must connect to public addresses only, unless the hop's
  /// host:port or the connected ip:port is in `NetworkPolicy.allow`.
  public var trusted: Bool
  public var limits: FetchLimits
  /// The Accept header; nil leaves libcurl's "*/*".
  public var accept: String?

  public init(
    url: String, etag: String? = nil, lastModified: String? = nil, trusted: Bool = false,
    limits: FetchLimits = FetchLimits(), accept: String? = nil
  ) {
    self.url = url
    self.etag = etag
    self.lastModified = lastModified
    self.trusted = trusted
    self.limits = limits
    self.accept = accept
  }
}

extension StringProtocol {
  func trimmingASCIIWhitespace() -> Substring {
    let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\r" || $0 == "\n" }
    let s = Substring(self)
    guard let first = s.firstIndex(where: { !isSpace($0) }) else { return s[s.endIndex...] }
    let last = s.lastIndex(where: { !isSpace($0) })!
    return s[first...last]
  }
}

extension Duration {
  /// Whole milliseconds, rounded up so that a positive duration never becomes 0.
  var milliseconds: Int {
    let (seconds, attoseconds) = components
    let ms = seconds * 1000 + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000
    return Int(clamping: ms)
  }
}
