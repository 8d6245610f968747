import CCurl

/// Fetches URLs over HTTP(S) with libcurl's multi interface: one multi handle and one thread
/// for every transfer of this fetcher, a shared connection pool (HTTP/2 multiplexed when the
/// server offers it), conditional GET, decoded bodies, redirects followed hop by hop with
/// an SSRF guard on each hop.
///
/// The SSRF guard judges the address actually used, twice: when libcurl opens a socket
/// (CURLOPT_OPENSOCKETFUNCTION, so DNS tricks do not help) and just before each request is
/// sent (CURLOPT_PREREQFUNCTION), because a hop may reuse a pooled connection that a trusted
/// hop opened to a private address. Proxies from the environment are ignored, so the
/// address judged is the server's.
///
/// ```swift
/// let fetcher = Fetcher(userAgent: "feedspool/1.0", policy: NetworkPolicy(allow: []))
/// switch await fetcher.fetch(FetchRequest(url: feedURL, etag: state.etag, trusted: true)) {
/// case .fetched(let response): ...
/// case .notModified: ...
/// case .httpStatus(let response): ...
/// case .failed(let failure): ...
/// }
/// ```
public final class Fetcher: Sendable {
  public let userAgent: String
  public let policy: NetworkPolicy
  /// PEM file of the certificate authorities to trust; nil: the system's bundle.
  public let caBundlePath: String?
  private let allow: Set<String>
  private let driver: MultiDriver
  private let counter = ResourceCounter()

  /// `maxConnectionsPerHost` and `maxTotalConnections` bound the connection pool; transfers
  /// beyond them wait inside libcurl (their time counts against `totalTimeout`).
  /// `caBundlePath`: a PEM file of CAs to trust instead of the system's (private CAs).
  public init(
    userAgent: String, policy: NetworkPolicy, maxConnectionsPerHost: Int = 4,
    maxTotalConnections: Int = 64, caBundlePath: String? = nil
  ) {
    self.userAgent = userAgent
    self.policy = policy
    self.caBundlePath = caBundlePath
    self.allow = policy.normalizedAllow
    self.driver = MultiDriver(
      maxConnectionsPerHost: maxConnectionsPerHost, maxTotalConnections: maxTotalConnections)
  }

  deinit {
    driver.shutdown()
  }

  /// Ends every transfer in flight with `.failed(.cancelled)`; later fetches fail the same
  /// way at once. Returns when the transfer thread has stopped.
  public func shutdown() {
    driver.shutdown()
  }

  /// Easy handles, header lists and transfers alive now (all 0 when idle: nothing leaks).
  var liveResources: ResourceCounter.Counts { counter.snapshot }

  /// Fetches `request.url`, following at most `request.limits.maxRedirects` redirects.
  /// Cancelling the calling task ends the transfer with `.failed(.cancelled)`.
  public func fetch(_ request: FetchRequest) async -> FetchResult {
    let clock = ContinuousClock()
    let deadline = clock.now + request.limits.totalTimeout
    var redirects: [Redirect] = []
    var url = request.url

    func failure(_ kind: FetchFailure.Kind, _ message: String) -> FetchResult {
      .failed(FetchFailure(kind: kind, message: message, url: url, redirects: redirects))
    }

    while true {
      let target: URLTarget
      switch URLTarget.parse(url) {
      case .success(let parsed): target = parsed
      case .failure(let refusal): return failure(refusal.kind, refusal.message)
      }
      if Task.isCancelled { return failure(.cancelled, "cancelled") }
      let remaining = clock.now.duration(to: deadline)
      guard remaining > .zero else {
        return failure(.timeout, "total timeout of \(request.limits.totalTimeout) reached")
      }

      let firstTrustedHop = request.trusted && redirects.isEmpty
      let screened = !firstTrustedHop && !allow.contains(target.allowKey)
      let spec = HopSpec(
        url: url, userAgent: userAgent, caBundlePath: caBundlePath, etag: request.etag,
        lastModified: request.lastModified,
        accept: request.accept, maxBodyBytes: request.limits.maxBodyBytes,
        connectTimeoutMs: min(request.limits.connectTimeout, remaining).milliseconds,
        timeoutMs: remaining.milliseconds, lowSpeedLimit: request.limits.lowSpeedLimit,
        lowSpeedTimeSeconds: max(1, request.limits.lowSpeedTime.milliseconds / 1000),
        screen: screened ? AddressScreen(allow: allow) : nil)

      switch await perform(spec) {
      case .failure(let kind, let message):
        return failure(kind, message)

      case .response(let status, let headers, let body, let redirectURL):
        if Self.isRedirect(status), let location = headers["location"] {
          guard let next = redirectURL else {
            let refusal = URLTarget.schemeRefusal(location)
            return failure(
              refusal?.kind ?? .protocolError,
              refusal?.message ?? "unusable Location \(location) in a \(status) response")
          }
          redirects.append(Redirect(status: status, from: url, to: next))
          guard redirects.count <= request.limits.maxRedirects else {
            return failure(
              .tooManyRedirects, "more than \(request.limits.maxRedirects) redirects")
          }
          if let refusal = URLTarget.schemeRefusal(next) {
            return failure(refusal.kind, refusal.message)
          }
          url = next
          continue
        }
        let response = HTTPResponse(
          status: status, headers: headers, body: body, url: url, redirects: redirects)
        switch status {
        // No range is ever asked for: a 206 holds part of a document, not a document.
        case 206: return .httpStatus(response)
        case 200..<300: return .fetched(response)
        case 304: return .notModified(response)
        default: return .httpStatus(response)
        }
      }
    }
  }

  static func isRedirect(_ status: Int) -> Bool {
    status == 301 || status == 302 || status == 303 || status == 307 || status == 308
  }

  /// Runs one hop on the multi thread and waits for it.
  private func perform(_ spec: HopSpec) async -> HopOutcome {
    guard let transfer = Transfer(spec, counter: counter) else {
      return .failure(.other, "libcurl could not create a handle")
    }
    let driver = self.driver
    return await withTaskCancellationHandler {
      await withCheckedContinuation { continuation in
        transfer.continuation = continuation
        if !driver.submit(transfer) {
          transfer.continuation = nil
          continuation.resume(returning: .failure(.cancelled, "fetcher shut down"))
        }
      }
    } onCancel: {
      driver.cancel(transfer)
    }
  }
}

/// The parts of a URL the fetcher decides on, read with libcurl's own URL parser so that
/// the fetcher and libcurl agree on host and port.
struct URLTarget {
  struct Refusal: Error {
    var kind: FetchFailure.Kind
    var message: String
  }

  var scheme: String
  var host: String
  var port: Int

  /// "host:port" as matched against `NetworkPolicy.allow`.
  var allowKey: String { NetworkPolicy.key(host: host, port: port) }

  static func parse(_ url: String) -> Result<URLTarget, Refusal> {
    if let refusal = schemeRefusal(url) { return .failure(refusal) }
    guard let handle = curl_url() else {
      return .failure(Refusal(kind: .other, message: "libcurl could not parse"))
    }
    defer { curl_url_cleanup(handle) }
    guard curl_url_set(handle, CURLUPART_URL, url, 0) == CURLUE_OK else {
      return .failure(Refusal(kind: .invalidURL, message: "malformed URL"))
    }
    func part(_ which: CURLUPart, _ flags: UInt32 = 0) -> String? {
      var value: UnsafeMutablePointer<CChar>?
      guard curl_url_get(handle, which, &value, flags) == CURLUE_OK, let value else {
        return nil
      }
      defer { curl_free(value) }
      return String(cString: value)
    }
    guard let scheme = part(CURLUPART_SCHEME)?.lowercased(), let host = part(CURLUPART_HOST),
      let port = part(CURLUPART_PORT, UInt32(CURLU_DEFAULT_PORT)).flatMap({ Int($0) })
    else {
      return .failure(Refusal(kind: .invalidURL, message: "URL without host or port"))
    }
    return .success(URLTarget(scheme: scheme, host: host, port: port))
  }

  /// Refuses a URL whose explicit scheme is not http or https (ftp:, file:, gopher:, ...).
  /// A URL without a scheme is left to the parser.
  static func schemeRefusal(_ url: String) -> Refusal? {
    let trimmed = url.trimmingASCIIWhitespace()
    guard let colon = trimmed.firstIndex(of: ":") else { return nil }
    let scheme = trimmed[..<colon]
    guard let first = scheme.unicodeScalars.first,
      scheme.unicodeScalars.allSatisfy({
        ($0 >= "a" && $0 <= "z") || ($0 >= "A" && $0 <= "Z") || ($0 >= "0" && $0 <= "9")
          || $0 == "+" || $0 == "-" || $0 == "."
      }),
      (first >= "a" && first <= "z") || (first >= "A" && first <= "Z")
    else { return nil }
    let lower = scheme.lowercased()
    if lower == "http" || lower == "https" { return nil }
    return Refusal(kind: .forbiddenScheme, message: "scheme \(lower): is not http or https")
  }
}
