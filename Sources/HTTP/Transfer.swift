import CCurl
import Synchronization

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// What one hop asks of libcurl. Built by `Fetcher` for each hop of a fetch.
struct HopSpec: Sendable {
  var url: String
  var userAgent: String
  var caBundlePath: String?
  var etag: String?
  var lastModified: String?
  var accept: String?
  var maxBodyBytes: Int
  var connectTimeoutMs: Int
  var timeoutMs: Int
  var lowSpeedLimit: Int
  var lowSpeedTimeSeconds: Int
  /// nil: this hop may connect anywhere (trusted first hop, or its host:port is allowed).
  var screen: AddressScreen?
}

/// The SSRF guard of one hop: refuses non-public addresses unless "ip:port" is allowed.
struct AddressScreen: Sendable {
  var allow: Set<String>

  /// nil when the address may be used, else why not.
  func refusal(address: IPAddress, port: Int) -> String? {
    let scope = address.scope
    if scope == .public { return nil }
    if allow.contains("\(address.hostForm):\(port)") { return nil }
    return "address \(address.hostForm):\(port) is \(scope.rawValue) and not in network.allow"
  }
}

/// How a hop ended, as seen by the multi thread.
enum HopOutcome: Sendable {
  case response(status: Int, headers: HTTPHeaders, body: [UInt8], redirectURL: String?)
  case failure(FetchFailure.Kind, String)
}

/// Counts what is alive for one `Fetcher`: easy handles, header lists and the transfer
/// objects that hold bodies (for the leak tests).
final class ResourceCounter: Sendable {
  struct Counts: Equatable, Sendable {
    var handles = 0
    var headerLists = 0
    var transfers = 0
  }
  private let counts = Mutex(Counts())
  func add(handles: Int = 0, headerLists: Int = 0, transfers: Int = 0) {
    counts.withLock {
      $0.handles += handles
      $0.headerLists += headerLists
      $0.transfers += transfers
    }
  }
  var snapshot: Counts { counts.withLock { $0 } }
}

/// One hop: an easy handle and everything its callbacks write into.
///
/// Threading: built on the caller's task, then handed to the multi thread through the
/// driver's lock; from then on only the multi thread touches it (the callbacks run inside
/// `curl_multi_perform` there), except `cancelRequested`, which is guarded by the driver's
/// lock. The easy handle and the header list are freed by `release()` on the multi thread
/// right after the handle left the multi handle, or in `deinit` if it never got there.
final class Transfer: @unchecked Sendable {
  private(set) var handle: UnsafeMutableRawPointer?
  private var headerList: UnsafeMutablePointer<curl_slist>?
  private let errorBuffer: UnsafeMutablePointer<CChar>
  private let counter: ResourceCounter
  let screen: AddressScreen?
  let maxBodyBytes: Int

  var body: [UInt8] = []
  var headers = HTTPHeaders()
  var bodyTooLarge = false
  /// More than `maxHeaderBytes` of header and trailer lines came (the transfer stopped).
  var headersTooLarge = false
  /// Header and trailer bytes a transfer may receive: libcurl 7.88 bounds one response's
  /// header, not its trailers (endless trailer lines took 800 MB) nor interim responses.
  static let maxHeaderBytes = 1 << 20
  private var headerBytes = 0
  /// More than `maxWireBytes` came over an HTTP/1 connection for this response (the
  /// transfer stopped).
  var wireTooLarge = false
  /// The connection's received-byte count when this hop's request was sent (nil where
  /// the kernel does not say).
  private var wireBaseline: Int64?
  /// Bytes an HTTP/1 response may take on the wire, all told: framing that is neither
  /// header nor body (an endless chunk extension, or chunks of one byte each) reached no
  /// cap but the fetch's time limit, reading gigabytes over a fast link.
  var maxWireBytes: Int64 { 2 * Int64(maxBodyBytes) + Int64(Self.maxHeaderBytes) + (1 << 20) }
  /// Why the body could not be decoded (unknown Content-Encoding, broken data).
  var decodeFailure: String?
  /// Bytes as they came off the wire (still encoded), capped like the decoded body.
  private var rawBodyBytes = 0
  /// Built from the final response's Content-Encoding at its first body byte.
  private var decoder: ContentDecoder?
  private var decoderReady = false
  var blocked: String?
  /// Guarded by `MultiDriver`'s lock.
  var cancelRequested = false
  var continuation: CheckedContinuation<HopOutcome, Never>?

  /// nil when libcurl could not make a handle.
  init?(_ spec: HopSpec, counter: ResourceCounter) {
    guard let handle = curl_easy_init() else { return nil }
    counter.add(handles: 1, transfers: 1)
    self.handle = handle
    self.counter = counter
    self.screen = spec.screen
    self.maxBodyBytes = spec.maxBodyBytes
    errorBuffer = .allocate(capacity: Int(CURL_ERROR_SIZE))
    errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE))
    configure(spec)
  }

  deinit {
    release()
    errorBuffer.deallocate()
    counter.add(transfers: -1)
  }

  /// Frees the easy handle and the header list. Call only when the handle is in no multi.
  func release() {
    if let handle {
      curl_easy_cleanup(handle)
      counter.add(handles: -1)
      self.handle = nil
    }
    if let headerList {
      curl_slist_free_all(headerList)
      counter.add(headerLists: -1)
      self.headerList = nil
    }
  }

  /// Resumes the waiting fetch, once.
  func complete(_ outcome: HopOutcome) {
    let continuation = self.continuation
    self.continuation = nil
    continuation?.resume(returning: outcome)
  }

  /// libcurl's detailed message for a failed transfer (CURLOPT_ERRORBUFFER), or "".
  var errorMessage: String { String(cString: errorBuffer) }

  private func configure(_ spec: HopSpec) {
    guard let h = handle else { return }
    let me = Unmanaged.passUnretained(self).toOpaque()
    fs_easy_setopt_string(h, CURLOPT_URL, spec.url)
    fs_easy_setopt_string(h, CURLOPT_PROTOCOLS_STR, "http,https")
    fs_easy_setopt_string(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https")
    fs_easy_setopt_long(h, CURLOPT_FOLLOWLOCATION, 0)
    fs_easy_setopt_long(h, CURLOPT_NOSIGNAL, 1)
    // "" = offer every encoding this libcurl knows (gzip, deflate, br, zstd). libcurl
    // does not decode them: its gzip decoder refuses multi-member bodies (RFC 1952) and
    // any byte after the first member, losing the whole feed. `ContentDecoder` does it,
    // counting decoded bytes against the cap.
    fs_easy_setopt_string(h, CURLOPT_ACCEPT_ENCODING, "")
    fs_easy_setopt_long(h, CURLOPT_HTTP_CONTENT_DECODING, 0)
    fs_easy_setopt_long(h, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_2TLS)
    // Over TLS, wait for the first connection's ALPN answer so that an HTTP/2 server
    // gets one multiplexed connection rather than one per transfer. Not over plain http:
    // there is no HTTP/2 (no h2c), and waiting would serialize transfers behind a slow
    // first response.
    if spec.url.utf8.count > 8, spec.url.prefix(8).lowercased() == "https://" {
      fs_easy_setopt_long(h, CURLOPT_PIPEWAIT, 1)
    }
    fs_easy_setopt_string(h, CURLOPT_USERAGENT, spec.userAgent)
    if let ca = spec.caBundlePath { fs_easy_setopt_string(h, CURLOPT_CAINFO, ca) }
    // No proxy from the environment: the SSRF guard judges the address really connected.
    fs_easy_setopt_string(h, CURLOPT_PROXY, "")
    fs_easy_setopt_long(h, CURLOPT_CONNECTTIMEOUT_MS, max(1, spec.connectTimeoutMs))
    fs_easy_setopt_long(h, CURLOPT_TIMEOUT_MS, max(1, spec.timeoutMs))
    fs_easy_setopt_long(h, CURLOPT_LOW_SPEED_LIMIT, max(0, spec.lowSpeedLimit))
    fs_easy_setopt_long(h, CURLOPT_LOW_SPEED_TIME, max(1, spec.lowSpeedTimeSeconds))
    // A Content-Length past the cap is refused before any byte; bodies without one (or
    // compressed ones) are counted in the write callback.
    fs_easy_setopt_off(h, CURLOPT_MAXFILESIZE_LARGE, curl_off_t(spec.maxBodyBytes))
    fs_easy_setopt_pointer(h, CURLOPT_ERRORBUFFER, UnsafeMutableRawPointer(errorBuffer))

    fs_easy_setopt_write_function(h, CURLOPT_WRITEFUNCTION, transferWriteBody)
    fs_easy_setopt_pointer(h, CURLOPT_WRITEDATA, me)
    fs_easy_setopt_write_function(h, CURLOPT_HEADERFUNCTION, transferWriteHeader)
    fs_easy_setopt_pointer(h, CURLOPT_HEADERDATA, me)
    // Sockets are opened (address judged, when there is a screen) and closed here, so
    // that `openSockets` knows them.
    fs_easy_setopt_opensocket_function(h, transferOpenSocket)
    fs_easy_setopt_pointer(h, CURLOPT_OPENSOCKETDATA, me)
    fs_easy_setopt_closesocket_function(h, transferCloseSocket)
    // Judges the connected address (with a screen) and notes where the response's bytes
    // start on the connection (`maxWireBytes`, checked as the transfer progresses).
    fs_easy_setopt_prereq_function(h, transferPrerequest)
    fs_easy_setopt_pointer(h, CURLOPT_PREREQDATA, me)
    fs_easy_setopt_xferinfo_function(h, transferProgress)
    fs_easy_setopt_pointer(h, CURLOPT_XFERINFODATA, me)
    fs_easy_setopt_long(h, CURLOPT_NOPROGRESS, 0)

    var lines: [[UInt8]] = []
    if let etag = spec.etag { lines.append(Array("If-None-Match: ".utf8) + etag.headerOctets) }
    if let date = spec.lastModified {
      lines.append(Array("If-Modified-Since: ".utf8) + date.headerOctets)
    }
    if let accept = spec.accept { lines.append(Array("Accept: ".utf8) + accept.headerOctets) }
    for line in lines where !line.contains(where: { $0 == 0 || $0 == 10 || $0 == 13 }) {
      let appended = (line + [0]).withUnsafeBufferPointer { bytes in
        bytes.withMemoryRebound(to: CChar.self) { curl_slist_append(headerList, $0.baseAddress) }
      }
      if let appended {
        if headerList == nil { counter.add(headerLists: 1) }
        headerList = appended
      }
    }
    if let headerList {
      fs_easy_setopt_pointer(h, CURLOPT_HTTPHEADER, UnsafeMutableRawPointer(headerList))
    }
  }

  /// Called by the write callback with bytes as sent: false when the cap is passed (on
  /// the encoded or the decoded bytes) or the body cannot be decoded.
  fileprivate func receiveBody(_ bytes: UnsafeRawBufferPointer) -> Bool {
    rawBodyBytes += bytes.count
    if rawBodyBytes > maxBodyBytes {
      bodyTooLarge = true
      return false
    }
    if !decoderReady {
      decoderReady = true
      do {
        let codings = headers.values(for: "content-encoding")
        decoder = try ContentDecoder.make(
          contentEncoding: codings.isEmpty ? nil : codings.joined(separator: ","))
      } catch {
        if case .invalid(let why) = error { decodeFailure = why }
        return false
      }
    }
    guard let decoder else { return appendBody(bytes) }
    do {
      try decoder.decode(bytes) { appendBody($0) }
      return true
    } catch {
      if case .invalid(let why) = error { decodeFailure = why }
      return false
    }
  }

  /// Decoded bytes: false when the cap is passed.
  private func appendBody(_ bytes: UnsafeRawBufferPointer) -> Bool {
    if body.count + bytes.count > maxBodyBytes {
      bodyTooLarge = true
      return false
    }
    body.append(contentsOf: bytes)
    return true
  }

  /// One header or trailer line as libcurl hands it over (CRLF included): false, to stop
  /// the transfer, past `maxHeaderBytes`.
  fileprivate func receiveHeaderLine(_ line: UnsafeRawBufferPointer) -> Bool {
    headerBytes += line.count
    if headerBytes > Self.maxHeaderBytes {
      headersTooLarge = true
      return false
    }
    appendHeaderLine(line)
    return true
  }

  /// One header line. A status line starts a new response (redirect, 1xx, final), so only
  /// the last response's fields are kept.
  private func appendHeaderLine(_ line: UnsafeRawBufferPointer) {
    var end = line.count
    while end > 0 && (line[end - 1] == 10 || line[end - 1] == 13) { end -= 1 }
    let bytes = UnsafeRawBufferPointer(rebasing: line[0..<end])
    if bytes.isEmpty { return }
    if bytes.starts(with: "HTTP/".utf8) {
      headers.removeAll()
      return
    }
    if bytes[0] == 32 || bytes[0] == 9 {
      headers.continueLast(with: String(latin1: bytes).trimmingASCIIWhitespace().description)
      return
    }
    guard let colon = bytes.firstIndex(of: 58) else { return }
    let name = String(latin1: bytes[0..<colon]).trimmingASCIIWhitespace()
    let value = String(latin1: bytes[(colon + 1)...]).trimmingASCIIWhitespace()
    guard !name.isEmpty else { return }
    headers.append(name: String(name), value: String(value))
  }

  /// This hop's connection's socket, once the request is sent.
  private var connectionSocket: Int32?

  /// Bytes received so far on this hop's connection, or nil.
  private func wireBytes() -> Int64? {
    guard let connectionSocket else { return nil }
    let received = fs_tcp_bytes_received(connectionSocket)
    return received >= 0 ? Int64(received) : nil
  }

  /// Called as the request is sent on the connection from `localPort` to `peerPort`
  /// (new or reused): which socket that is, and where this response's bytes start.
  fileprivate func requestSent(localPort: Int, peerPort: Int) {
    connectionSocket = openSockets.withLock { $0 }.first { fd in
      Self.port(of: fd, peer: false) == localPort && Self.port(of: fd, peer: true) == peerPort
    }
    wireBaseline = wireBytes()
  }

  /// A socket's own port or its peer's, or nil.
  private static func port(of fd: Int32, peer: Bool) -> Int? {
    var address = sockaddr_storage()
    var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
    let ok = withUnsafeMutablePointer(to: &address) { p in
      p.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        (peer ? getpeername(fd, $0, &length) : getsockname(fd, $0, &length)) == 0
      }
    }
    guard ok else { return nil }
    return withUnsafePointer(to: &address) { IPAddress.port(sockaddr: UnsafeRawPointer($0)) }
  }

  /// Called as the transfer progresses: false (stop) once an HTTP/1 response has taken
  /// more than `maxWireBytes`. Not under HTTP/2, whose one connection carries other
  /// transfers' streams too (and whose framing nghttp2 bounds).
  fileprivate func progressAllowed() -> Bool {
    guard let baseline = wireBaseline, let handle else { return true }
    var version = 0
    fs_easy_getinfo_long(handle, CURLINFO_HTTP_VERSION, &version)
    guard version == Int(CURL_HTTP_VERSION_1_0) || version == Int(CURL_HTTP_VERSION_1_1),
      let now = wireBytes(), now - baseline > maxWireBytes
    else { return true }
    wireTooLarge = true
    return false
  }

  /// The SSRF check of a new connection's address.
  fileprivate func admit(address: IPAddress, port: Int) -> Bool {
    guard let screen, let reason = screen.refusal(address: address, port: port) else {
      return true
    }
    if blocked == nil { blocked = reason }
    return false
  }
}

// The libcurl callbacks: plain C function pointers, the Transfer comes back as userdata.

private let transferWriteBody: curl_write_callback = { data, size, count, userdata in
  guard let userdata else { return 0 }
  let transfer = Unmanaged<Transfer>.fromOpaque(userdata).takeUnretainedValue()
  let length = size * count
  guard length > 0, let data else { return 0 }
  // Returning anything but `length` makes libcurl abort with CURLE_WRITE_ERROR.
  return transfer.receiveBody(UnsafeRawBufferPointer(start: data, count: length)) ? length : 0
}

private let transferWriteHeader: curl_write_callback = { data, size, count, userdata in
  guard let userdata else { return 0 }
  let transfer = Unmanaged<Transfer>.fromOpaque(userdata).takeUnretainedValue()
  let length = size * count
  guard length > 0, let data else { return length }
  // Returning anything but `length` makes libcurl abort with CURLE_WRITE_ERROR.
  return transfer.receiveHeaderLine(UnsafeRawBufferPointer(start: data, count: length)) ? length : 0
}

private let transferOpenSocket: curl_opensocket_callback = { clientp, purpose, address in
  guard let clientp, let address else { return fs_socket_bad() }
  let transfer = Unmanaged<Transfer>.fromOpaque(clientp).takeUnretainedValue()
  let offset = MemoryLayout<curl_sockaddr>.offset(of: \curl_sockaddr.addr)!
  let sockaddrPointer = UnsafeRawPointer(address) + offset
  guard let ip = IPAddress(sockaddr: sockaddrPointer) else {
    // Neither IPv4 nor IPv6 (a Unix socket is not something a URL can ask for here).
    if transfer.blocked == nil { transfer.blocked = "address family not allowed" }
    return fs_socket_bad()
  }
  guard transfer.admit(address: ip, port: IPAddress.port(sockaddr: sockaddrPointer)) else {
    return fs_socket_bad()
  }
  let a = address.pointee
  let fd = socket(a.family, a.socktype | Int32(SOCK_CLOEXEC.rawValue), a.protocol)
  if fd >= 0 { openSockets.withLock { _ = $0.insert(fd) } }
  return fd
}

/// The sockets libcurl opened (through `transferOpenSocket`) and has not closed. A hop
/// finds its connection's among them by port when its request is sent: libcurl 7.88 names
/// the socket of a running transfer nowhere (CURLINFO_ACTIVESOCKET answers after it).
private let openSockets = Mutex<Set<Int32>>([])

private let transferCloseSocket: curl_closesocket_callback = { _, fd in
  openSockets.withLock { _ = $0.remove(fd) }
  return close(fd)
}

private let transferPrerequest: curl_prereq_callback = {
  clientp, primaryIP, _, primaryPort, localPort in
  guard let clientp, let primaryIP else { return CURL_PREREQFUNC_ABORT }
  let transfer = Unmanaged<Transfer>.fromOpaque(clientp).takeUnretainedValue()
  guard let ip = IPAddress(String(cString: primaryIP)) else {
    if transfer.blocked == nil { transfer.blocked = "unknown connected address" }
    return CURL_PREREQFUNC_ABORT
  }
  guard transfer.admit(address: ip, port: Int(primaryPort)) else { return CURL_PREREQFUNC_ABORT }
  transfer.requestSent(localPort: Int(localPort), peerPort: Int(primaryPort))
  return CURL_PREREQFUNC_OK
}

private let transferProgress: curl_xferinfo_callback = { clientp, _, _, _, _ in
  guard let clientp else { return 0 }
  let transfer = Unmanaged<Transfer>.fromOpaque(clientp).takeUnretainedValue()
  // Non-zero makes libcurl stop with CURLE_ABORTED_BY_CALLBACK.
  return transfer.progressAllowed() ? 0 : 1
}
