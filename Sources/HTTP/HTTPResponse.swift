/// Response header fields in the order received; names compare case-insensitively and a
/// name may occur several times.
///
/// Field values are octets on the wire. Each octet is kept as one Unicode scalar
/// U+0000...U+00FF (ISO-8859-1), so ASCII reads as itself and any value, even one with
/// stray non-ASCII bytes, goes back byte for byte when handed to `FetchRequest.etag` /
/// `lastModified`.
public struct HTTPHeaders: Sendable, Hashable, RandomAccessCollection {
  public struct Field: Sendable, Hashable {
    public var name: String
    public var value: String
    public init(name: String, value: String) {
      self.name = name
      self.value = value
    }
  }

  public private(set) var fields: [Field]

  public init() {
    self.fields = []
  }

  public init(_ fields: [Field]) {
    self.fields = fields
  }

  public init(pairs: [(String, String)]) {
    self.fields = pairs.map { Field(name: $0.0, value: $0.1) }
  }

  public var startIndex: Int { fields.startIndex }
  public var endIndex: Int { fields.endIndex }
  public subscript(position: Int) -> Field { fields[position] }

  /// The first value of the field `name` (any case), or nil.
  public subscript(name: String) -> String? {
    fields.first { $0.name.caseInsensitiveEquals(name) }?.value
  }

  /// Every value of the field `name` (any case), in order.
  public func values(for name: String) -> [String] {
    fields.filter { $0.name.caseInsensitiveEquals(name) }.map(\.value)
  }

  public mutating func append(name: String, value: String) {
    fields.append(Field(name: name, value: value))
  }

  mutating func removeAll() { fields.removeAll(keepingCapacity: true) }

  /// Appends the value to the last field (obsolete line folding).
  mutating func continueLast(with value: String) {
    guard !fields.isEmpty else { return }
    fields[fields.count - 1].value += " " + value
  }
}

/// One redirect followed (or refused): the status of the redirect response, the URL that
/// answered it and the absolute URL of its Location.
public struct Redirect: Sendable, Hashable {
  public var status: Int
  public var from: String
  public var to: String

  public init(status: Int, from: String, to: String) {
    self.status = status
    self.from = from
    self.to = to
  }

  /// 301 and 308: the resource moved for good; the caller may store the new URL.
  public var isPermanent: Bool { status == 301 || status == 308 }
}

/// The final response of a fetch.
public struct HTTPResponse: Sendable, Hashable {
  public var status: Int
  /// Headers of the final response only (not of redirects or 1xx responses).
  public var headers: HTTPHeaders
  /// The decoded body (gzip, br, zstd, deflate undone).
  public var body: [UInt8]
  /// The URL that gave this response, after redirects.
  public var url: String
  /// Every redirect followed to get here, in order.
  public var redirects: [Redirect]

  public init(
    status: Int, headers: HTTPHeaders, body: [UInt8], url: String, redirects: [Redirect]
  ) {
    self.status = status
    self.headers = headers
    self.body = body
    self.url = url
    self.redirects = redirects
  }
}

/// What a fetch came to. Only transport-level trouble is a failure; every HTTP status is
/// an answer.
public enum FetchResult: Sendable {
  /// 2xx.
  case fetched(HTTPResponse)
  /// 304: the stored validators still hold.
  case notModified(HTTPResponse)
  /// Any other final status (4xx, 5xx, a 3xx that is not a followable redirect).
  case httpStatus(HTTPResponse)
  case failed(FetchFailure)

  /// The response, when there was one.
  public var response: HTTPResponse? {
    switch self {
    case .fetched(let r), .notModified(let r), .httpStatus(let r): return r
    case .failed: return nil
    }
  }

  /// The failure, when there was no response.
  public var failure: FetchFailure? {
    if case .failed(let f) = self { return f }
    return nil
  }
}

/// Why a fetch produced no response.
public struct FetchFailure: Error, Sendable, Hashable, CustomStringConvertible {
  public enum Kind: String, Sendable, Hashable, CaseIterable {
    /// The host name did not resolve.
    case dns
    /// No connection could be made, or it broke (refused, reset, unreachable).
    case connect
    /// Connect timeout, total timeout or too slow for too long.
    case timeout
    /// The decoded body went past `FetchLimits.maxBodyBytes`.
    case tooLarge
    /// More than `FetchLimits.maxRedirects` redirects (a loop ends here too).
    case tooManyRedirects
    /// The URL or a redirect target is not http or https.
    case forbiddenScheme
    /// The destination is not a public address and is not in `NetworkPolicy.allow`.
    case blockedAddress
    /// Certificate or TLS handshake trouble.
    case tls
    /// The server spoke broken HTTP (malformed reply, bad encoding, truncated body).
    case protocolError
    /// `Fetcher.shutdown()` or the calling task's cancellation.
    case cancelled
    /// The URL cannot be parsed.
    case invalidURL
    case other
  }

  public var kind: Kind
  /// For people: libcurl's message or ours.
  public var message: String
  /// The URL of the hop that failed.
  public var url: String
  /// The redirects followed before the failure (for `.tooManyRedirects` and
  /// `.forbiddenScheme` after a redirect, the refused one is the last).
  public var redirects: [Redirect]

  public init(kind: Kind, message: String, url: String, redirects: [Redirect] = []) {
    self.kind = kind
    self.message = message
    self.url = url
    self.redirects = redirects
  }

  public var description: String { "\(kind.rawValue): \(message) (\(url))" }
}

extension String {
  func caseInsensitiveEquals(_ other: String) -> Bool {
    let a = utf8
    let b = other.utf8
    guard a.count == b.count else { return false }
    return zip(a, b).allSatisfy { x, y in
      x == y || (x | 0x20 == y | 0x20 && (x | 0x20) >= 0x61 && (x | 0x20) <= 0x7A)
    }
  }

  /// Octets -> String, one scalar per octet (ISO-8859-1): lossless.
  init(latin1 bytes: some Sequence<UInt8>) {
    var scalars = String.UnicodeScalarView()
    for byte in bytes { scalars.append(Unicode.Scalar(byte)) }
    self = String(scalars)
  }

  /// The octets to send for a header value: ISO-8859-1 when every scalar fits (the inverse
  /// of `init(latin1:)`), UTF-8 otherwise.
  var headerOctets: [UInt8] {
    if unicodeScalars.allSatisfy({ $0.value <= 0xFF }) {
      return unicodeScalars.map { UInt8($0.value) }
    }
    return Array(utf8)
  }
}
