/// Header fields of a served request or response: ordered, names case-insensitive, repeats
/// allowed. Values are the octets of the wire, one Unicode scalar per octet (ISO-8859-1),
/// so a test can see and send any byte exactly; ASCII reads as itself.
public struct ServedHeaders: Sendable, Sequence, ExpressibleByDictionaryLiteral {
  public private(set) var fields: [(name: String, value: String)]

  public init(_ fields: [(name: String, value: String)] = []) {
    self.fields = fields
  }

  public init(dictionaryLiteral elements: (String, String)...) {
    self.fields = elements.map { (name: $0.0, value: $0.1) }
  }

  /// The first value of `name` (any case).
  public subscript(name: String) -> String? {
    fields.first { $0.name.lowercased() == name.lowercased() }?.value
  }

  /// Every value of `name` (any case), in order.
  public func values(_ name: String) -> [String] {
    fields.filter { $0.name.lowercased() == name.lowercased() }.map(\.value)
  }

  public func contains(_ name: String) -> Bool { self[name] != nil }

  public mutating func add(_ name: String, _ value: String) {
    fields.append((name: name, value: value))
  }

  public func makeIterator() -> IndexingIterator<[(name: String, value: String)]> {
    fields.makeIterator()
  }
}

/// One request as the server read it.
public struct ServedRequest: Sendable {
  public var method: String
  /// The request target as sent: path plus "?query".
  public var target: String
  public var headers: ServedHeaders
  public var body: [UInt8]
  /// Serial number of the connection the request came on: equal numbers mean the client
  /// reused a kept-alive connection.
  public var connection: Int

  public init(
    method: String, target: String, headers: ServedHeaders = [:], body: [UInt8] = [],
    connection: Int = 0
  ) {
    self.method = method
    self.target = target
    self.headers = headers
    self.body = body
    self.connection = connection
  }

  /// The target without its query.
  public var path: String {
    target.firstIndex(of: "?").map { String(target[..<$0]) } ?? target
  }
}

/// What the server answers.
public struct ServedResponse: Sendable {
  public var status: Int
  /// Sent as given. Content-Length is added unless present, `chunked` is set or the status
  /// has no body.
  public var headers: ServedHeaders
  public var body: [UInt8]
  /// Send the body with Transfer-Encoding: chunked (16 KiB chunks), no Content-Length.
  public var chunked = false
  /// Chunked: these bytes after the last chunk, before the final CRLF (trailer fields,
  /// each line ending in CRLF).
  public var trailers: [UInt8] = []
  /// Chunked: these bytes as the first chunk's extension (after `;`, before its CRLF).
  public var chunkExtension: [UInt8] = []
  /// Wait this long before sending anything (a stalled server). Cut short by `stop()`.
  public var delayBeforeHead: Duration = .zero
  /// Wait this long between the head and the body. Cut short by `stop()`.
  public var delayBeforeBody: Duration = .zero
  /// Close the connection after this response.
  public var close = false
  /// Informational responses sent first (e.g. 103 Early Hints): status and headers.
  public var interim: [(status: Int, headers: ServedHeaders)] = []

  public init(status: Int = 200, headers: ServedHeaders = [:], body: [UInt8] = []) {
    self.status = status
    self.headers = headers
    self.body = body
  }

  /// A body with its Content-Type.
  public static func ok(_ body: [UInt8], contentType: String = "application/octet-stream")
    -> ServedResponse
  {
    ServedResponse(status: 200, headers: ["Content-Type": contentType], body: body)
  }

  /// UTF-8 text with its Content-Type.
  public static func text(
    _ text: String, status: Int = 200, contentType: String = "text/plain; charset=utf-8"
  ) -> ServedResponse {
    ServedResponse(status: status, headers: ["Content-Type": contentType], body: Array(text.utf8))
  }

  /// A status with an empty body.
  public static func status(_ status: Int) -> ServedResponse {
    ServedResponse(status: status)
  }

  /// A redirect (301, 302, 303, 307, 308) to `location`, sent as given (may be relative).
  public static func redirect(_ status: Int = 302, to location: String) -> ServedResponse {
    ServedResponse(status: status, headers: ["Location": location])
  }

  /// A handler for a resource with fixed validators: 304 (with the validators and no body)
  /// when the request's If-None-Match lists the ETag (weak comparison, or "*"), or, without
  /// If-None-Match, when If-Modified-Since equals `lastModified` byte for byte; otherwise
  /// 200 with the body.
  public static func conditional(
    body: [UInt8], etag: String?, lastModified: String?,
    contentType: String = "application/xml"
  ) -> @Sendable (ServedRequest) -> ServedResponse {
    { request in
      var validators = ServedHeaders()
      if let etag { validators.add("ETag", etag) }
      if let lastModified { validators.add("Last-Modified", lastModified) }
      func opaque(_ tag: Substring) -> Substring { tag.hasPrefix("W/") ? tag.dropFirst(2) : tag }
      let notModified: Bool
      if let inm = request.headers["If-None-Match"] {
        let listed = inm.split(separator: ",").map {
          $0.trimmingCharacters(in: " \t")
        }
        notModified =
          listed.contains("*")
          || (etag.map { tag in listed.contains { opaque($0) == opaque(Substring(tag)) } }
            ?? false)
      } else if let ims = request.headers["If-Modified-Since"], let lastModified {
        notModified = ims == lastModified
      } else {
        notModified = false
      }
      if notModified { return ServedResponse(status: 304, headers: validators) }
      validators.add("Content-Type", contentType)
      return ServedResponse(status: 200, headers: validators, body: body)
    }
  }
}

extension Substring {
  fileprivate func trimmingCharacters(in set: String) -> Substring {
    var s = self
    while let c = s.first, set.contains(c) { s.removeFirst() }
    while let c = s.last, set.contains(c) { s.removeLast() }
    return s
  }
}
