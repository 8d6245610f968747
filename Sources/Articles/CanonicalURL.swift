/// The canonical form of an article URL (DESIGN section 3): the dedup key and `webUrl`.
///
/// `canonicalize` parses RFC 3986 by hand on the UTF-8 bytes (no Foundation `URL` on this
/// hot path) and applies these rules, in this order, each tested on its own:
///
/// 1. **Clean-up of the input.** Leading and trailing ASCII whitespace and C0 controls are
///    removed, and tabs, CR and LF anywhere are deleted (feeds wrap long links), as
///    browsers do (WHATWG URL).
/// 2. **Resolution.** A relative reference is resolved against `base` (RFC 3986 5.2.2);
///    the base must itself be an absolute http(s) URL. The result must be `http` or
///    `https` with a non-empty host, else the answer is `nil`. An empty reference gives
///    `nil` (not the base: an item with an empty link has no link).
/// 3. **Scheme and host lower-cased.** Percent-encoded bytes in the host are decoded. A
///    host with characters outside `[a-z0-9._~-]` is refused (`nil`), except:
/// 4. **IDN hosts** (non-ASCII labels) are lower-cased, NFC-normalized and converted to
///    punycode (`xn--`) label by label (RFC 3492), so `bücher.de` and `xn--bcher-kva.de`
///    are the same key. Full IDNA2008/UTS 46 mapping is not done. IPv6 literals are kept
///    in brackets, lower-cased; IPv4 literals are kept as written (numeric forms such as
///    `2130706433` are not rewritten: the network layer judges addresses).
/// 5. **Default port dropped** (80 for http, 443 for https); leading zeros of a port are
///    dropped; an empty port (`host:`) is dropped; a port that is not a number up to 65535
///    makes the URL invalid (`nil`).
/// 6. **Fragment dropped**, except a `#!` "hashbang" fragment, which names content on the
///    few sites that still use it (kept in `webUrl`; dedup keys drop it: `dedupForm`).
/// 7. **Empty path becomes `/`.**
/// 8. **Percent-encoding normalized** (RFC 3986 6.2.2.1-2) in the user info, path, query
///    and kept fragment: hex digits upper-cased, percent-encoded unreserved characters
///    (`A-Z a-z 0-9 - . _ ~`) decoded, and every byte that may not appear literally
///    (space, `"<>\^`{|}`, non-ASCII, a `%` not followed by two hex digits) encoded as
///    `%XX`. Reserved characters are left exactly as they are, encoded or not, because
///    `a%2Fb` and `a/b` are different resources.
/// 9. **Dot segments removed** (RFC 3986 5.2.4), after rule 8 so that `%2E%2E` counts.
/// 10. **Tracking parameters removed** from the query: every name starting with `utm_`,
///     and the names in `trackingParameters` (ASCII case-insensitive). The other
///     parameters keep their order and their exact spelling; empty pieces (`a=1&&b=2`)
///     are dropped; if no parameter is left the `?` is dropped (a bare `?` too).
///
/// Deliberately **not** done, because each can merge two different pages: lower-casing
/// the path or query (paths are case-sensitive on most servers), dropping `www.` (a
/// different host that may serve different content), sorting the remaining parameters
/// (some sites route on parameter order, and the order the site wrote is the one its
/// other links use), removing a trailing `/` or `index.html`, decoding `+` to a space.
public enum CanonicalURL {
  /// Query parameter names removed as tracking (besides every `utm_*` name): click ids
  /// of ad networks and mailing tools that never change what page is served.
  public static let trackingParameters: Set<String> = [
    "fbclid",  // Facebook
    "gclid", "dclid", "gbraid", "wbraid", "gclsrc",  // Google Ads / DoubleClick
    "msclkid",  // Microsoft Ads
    "mc_cid", "mc_eid",  // Mailchimp
    "yclid",  // Yandex
    "_hsenc", "_hsmi",  // HubSpot
    "igshid",  // Instagram
    "mkt_tok",  // Marketo
    "oly_anon_id", "oly_enc_id",  // Omeda
    "vero_id", "vero_conv",  // Vero
    "__s",  // Drip
    "rb_clickid",  // Rebuy
    "s_cid",  // Adobe
    "twclid",  // Twitter/X Ads
    "ttclid",  // TikTok
    "li_fat_id",  // LinkedIn
    "epik",  // Pinterest
    "_openstat",  // Yandex Openstat
    "ncid",  // Yahoo/Engadget newsletter and social ids
    "sr_share",  // Sailthru share id
  ]

  /// The canonical URL of `url`, resolved against `base` when relative; `nil` when the
  /// result is not an absolute http(s) URL with a host (see the type's rules).
  public static func canonicalize(_ url: String, base: String? = nil) -> String? {
    normalize(url, base: base, removingTracking: true)
  }

  /// Like `canonicalize`, with tracking parameters removed or kept. Used for links in
  /// article bodies, where the same rules make them absolute and well-formed.
  public static func normalize(_ url: String, base: String?, removingTracking: Bool) -> String? {
    guard let (target, scheme) = resolved(url, base: base) else { return nil }
    return target.serialize(scheme: scheme, removingTracking: removingTracking)
  }

  /// `normalize` with tracking parameters kept, and `canonicalize`, from one parse.
  public static func normalizedAndCanonical(_ url: String, base: String?) -> (
    normalized: String, canonical: String
  )? {
    guard let (target, scheme) = resolved(url, base: base),
      let canonical = target.serialize(scheme: scheme, removingTracking: true),
      let normalized = target.serialize(scheme: scheme, removingTracking: false)
    else { return nil }
    return (normalized, canonical)
  }

  /// `url` parsed and resolved against `base`, with its lower-cased scheme when that is
  /// http or https.
  static func resolved(_ url: String, base: String?) -> (Parsed, String)? {
    guard let ref = Parsed(url), !ref.isEmpty else { return nil }
    var target: Parsed
    if ref.scheme != nil {
      target = ref
    } else {
      guard let base, let b = Parsed(base), b.scheme != nil, b.authority != nil else { return nil }
      target = resolve(ref, against: b)
    }
    guard let scheme = target.scheme else { return nil }
    let s = String(decoding: scheme.map(asciiLower), as: UTF8.self)
    guard s == "http" || s == "https" else { return nil }
    return (target, s)
  }

  /// True when `string` is an absolute `http:` or `https:` URL with a host (after the
  /// same clean-up and host checks as `canonicalize`).
  public static func isHTTPURL(_ string: String) -> Bool {
    guard let p = Parsed(string), let scheme = p.scheme, p.authority != nil else { return false }
    let s = String(decoding: scheme.map(asciiLower), as: UTF8.self)
    guard s == "http" || s == "https" else { return false }
    return p.serialize(scheme: s, removingTracking: false) != nil
  }

  /// The form of a canonical URL that dedup keys hash: what makes two links one article,
  /// as the spool checker compares them. `webUrl` keeps the canonical URL itself.
  /// - The fragment is dropped, a kept `#!` one too: feeds rotate hashbangs on one page.
  /// - The user info is dropped.
  /// - The query is read as a form (`application/x-www-form-urlencoded`, as servers read
  ///   it): `+` and `%20` are both a space, `%2F` and `/` one byte, `k` and `k=` one
  ///   parameter. Its parameters are written again one way (`formEncoded`) and sorted by
  ///   name, then value, so that `?a=1&b=2` and `?b=2&a=1` are one article.
  /// The same string for a URL with no query, fragment or user info, and for a query
  /// already in that form (nearly always).
  public static func dedupForm(_ canonical: String) -> String {
    let u = canonical.utf8
    // A canonical URL starts with `http://` or `https://`; its authority ends at a `/`.
    guard let colon = u.firstIndex(of: 0x3A) else { return canonical }
    let authority = u.index(colon, offsetBy: 3, limitedBy: u.endIndex) ?? u.endIndex
    let path = u[authority...].firstIndex(of: 0x2F) ?? u.endIndex
    let at = u[authority..<path].lastIndex(of: 0x40)
    let query = u[path...].firstIndex { $0 == 0x3F || $0 == 0x23 }
    if at == nil && query == nil { return canonical }
    var out = Array(u[..<authority])
    out.append(contentsOf: u[(at.map { u.index(after: $0) } ?? authority)..<(query ?? u.endIndex)])
    if let query, u[query] == 0x3F {
      let end = u[query...].firstIndex(of: 0x23) ?? u.endIndex
      var parameters: [(name: [UInt8], value: [UInt8])] = []
      for piece in u[u.index(after: query)..<end].split(separator: 0x26) {
        let eq = piece.firstIndex(of: 0x3D)
        let name = formEncoded(piece[..<(eq ?? piece.endIndex)])
        let value = eq.map { formEncoded(piece[piece.index(after: $0)...]) } ?? []
        // A lone `=` names nothing.
        if !name.isEmpty || !value.isEmpty { parameters.append((name, value)) }
      }
      parameters.sort {
        $0.name != $1.name
          ? $0.name.lexicographicallyPrecedes($1.name)
          : $0.value.lexicographicallyPrecedes($1.value)
      }
      for (i, p) in parameters.enumerated() {
        out.append(i == 0 ? 0x3F : 0x26)
        out.append(contentsOf: p.name)
        if !p.value.isEmpty {
          out.append(0x3D)
          out.append(contentsOf: p.value)
        }
      }
    }
    return String(decoding: out, as: UTF8.self)
  }

  /// The dedup form of earlier versions (up to `171ba9c`): the canonical URL with its
  /// raw query pieces sorted, a `#!` fragment kept. Articles delivered then are keyed so;
  /// lookups still try it (`ArticleBuilder.lookUp`).
  public static func sortedQueryForm(_ canonical: String) -> String {
    let u = canonical.utf8
    guard let q = u.firstIndex(of: 0x3F) else { return canonical }
    let end = u[q...].firstIndex(of: 0x23) ?? u.endIndex  // a kept `#!` fragment stays last
    let query = u[u.index(after: q)..<end]
    guard query.contains(0x26) else { return canonical }
    let pieces = query.split(separator: 0x26, omittingEmptySubsequences: false)
    func key(_ p: Substring.UTF8View.SubSequence) -> (
      Substring.UTF8View.SubSequence, Substring.UTF8View.SubSequence
    ) {
      guard let eq = p.firstIndex(of: 0x3D) else { return (p, p[p.endIndex...]) }
      return (p[..<eq], p[p.index(after: eq)...])
    }
    func less(_ a: Substring.UTF8View.SubSequence, _ b: Substring.UTF8View.SubSequence) -> Bool {
      let (an, av) = key(a)
      let (bn, bv) = key(b)
      if !an.elementsEqual(bn) { return an.lexicographicallyPrecedes(bn) }
      return av.lexicographicallyPrecedes(bv)
    }
    let sorted = pieces.sorted(by: less)
    if zip(sorted, pieces).allSatisfy({ $0.elementsEqual($1) }) { return canonical }
    var out = Array(u[...q])
    for (i, p) in sorted.enumerated() {
      if i > 0 { out.append(0x26) }
      out.append(contentsOf: p)
    }
    out.append(contentsOf: u[end...])
    return String(decoding: out, as: UTF8.self)
  }
  /// A query name or value as a form reads it (`+` a space, every `%XX` its byte), written
  /// again with the bytes a canonical query keeps literally left so (unreserved, and
  /// `:@/?!$'()*,;`), and every other byte (`+`, `&`, `=`, `%`, space, non-ASCII) `%XX`.
  static func formEncoded(_ bytes: Substring.UTF8View.SubSequence) -> [UInt8] {
    var out: [UInt8] = []
    out.reserveCapacity(bytes.count)
    for b in percentDecodedAll(bytes.map { $0 == 0x2B ? 0x20 : $0 }) {
      if formLiteral[Int(b)] { out.append(b) } else { appendEscaped(b, to: &out) }
    }
    return out
  }

  /// `b` as `%XX`, upper-case hex.
  @inline(__always) static func appendEscaped(_ b: UInt8, to out: inout [UInt8]) {
    out.append(0x25)
    out.append(hexDigits[Int(b >> 4)])
    out.append(hexDigits[Int(b & 0xF)])
  }

  static let formLiteral: [Bool] = table(extra: ":@/?!$'()*,;")

  /// Scheme, host and port of an absolute `http:` or `https:` URL, with the same host
  /// checks as `canonicalize`: the host lower-case (an internationalized name as its
  /// ASCII form, an IPv6 literal in brackets), the port the scheme's default when none is
  /// written. Nil for anything else. Needs neither Foundation's URL types nor, for ASCII
  /// hosts, ICU.
  public static func origin(of url: String) -> (scheme: String, host: String, port: Int)? {
    guard let p = Parsed(url), let scheme = p.scheme, let authority = p.authority else {
      return nil
    }
    let s = String(decoding: scheme.map(asciiLower), as: UTF8.self)
    guard s == "http" || s == "https", let auth = normalizeAuthority(authority, scheme: s)
    else { return nil }
    var rest = auth[...]
    if let at = rest.lastIndex(of: 0x40) { rest = rest[(at + 1)...] }  // userinfo
    var hostEnd = rest.endIndex
    if rest.first == 0x5B {
      guard let close = rest.firstIndex(of: 0x5D) else { return nil }
      hostEnd = close + 1
    } else if let colon = rest.lastIndex(of: 0x3A) {
      hostEnd = colon
    }
    guard hostEnd > rest.startIndex else { return nil }
    var port = s == "https" ? 443 : 80
    if hostEnd < rest.endIndex,
      let written = Int(String(decoding: rest[(hostEnd + 1)...], as: UTF8.self))
    {
      port = written
    }
    return (s, String(decoding: rest[..<hostEnd], as: UTF8.self), port)
  }

  /// True when the query parameter `name` (as written, possibly percent-encoded) is a
  /// tracking parameter.
  public static func isTrackingParameter(_ name: String) -> Bool {
    isTrackingName(normalizePercent(Array(name.utf8), allowed: allAllowed)[...])
  }

  // MARK: - Parsing

  /// The five components of a URI reference as raw bytes (RFC 3986 section 3).
  struct Parsed {
    var scheme: [UInt8]?
    /// Whole authority (userinfo@host:port), present when the reference has `//`.
    var authority: [UInt8]?
    var path: [UInt8]
    var query: [UInt8]?
    var fragment: [UInt8]?

    /// An empty reference (`""`, only white space): RFC 3986 would resolve it to the
    /// base itself, but an item with an empty link has no link.
    var isEmpty: Bool {
      scheme == nil && authority == nil && path.isEmpty && query == nil && fragment == nil
    }

    init(scheme: [UInt8]?, authority: [UInt8]?, path: [UInt8], query: [UInt8]?, fragment: [UInt8]?)
    {
      self.scheme = scheme
      self.authority = authority
      self.path = path
      self.query = query
      self.fragment = fragment
    }

    init?(_ string: String) {
      var bytes: [UInt8] = []
      bytes.reserveCapacity(string.utf8.count)
      for b in string.utf8 where b != 0x09 && b != 0x0A && b != 0x0D { bytes.append(b) }
      var lo = 0
      var hi = bytes.count
      while lo < hi && bytes[lo] <= 0x20 { lo += 1 }
      while hi > lo && bytes[hi - 1] <= 0x20 { hi -= 1 }
      let s = Array(bytes[lo..<hi])
      var i = 0
      // scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) ":"
      var scheme: [UInt8]? = nil
      if let first = s.first, isAlpha(first) {
        var j = 1
        while j < s.count,
          isAlpha(s[j]) || isDigit(s[j]) || s[j] == 0x2B || s[j] == 0x2D || s[j] == 0x2E
        {
          j += 1
        }
        if j < s.count && s[j] == 0x3A {
          scheme = Array(s[0..<j])
          i = j + 1
        }
      }
      var authority: [UInt8]? = nil
      if i + 1 < s.count && s[i] == 0x2F && s[i + 1] == 0x2F {
        var j = i + 2
        while j < s.count && s[j] != 0x2F && s[j] != 0x3F && s[j] != 0x23 { j += 1 }
        authority = Array(s[(i + 2)..<j])
        i = j
      }
      var j = i
      while j < s.count && s[j] != 0x3F && s[j] != 0x23 { j += 1 }
      let path = Array(s[i..<j])
      i = j
      var query: [UInt8]? = nil
      if i < s.count && s[i] == 0x3F {
        j = i + 1
        while j < s.count && s[j] != 0x23 { j += 1 }
        query = Array(s[(i + 1)..<j])
        i = j
      }
      var fragment: [UInt8]? = nil
      if i < s.count && s[i] == 0x23 { fragment = Array(s[(i + 1)...]) }
      self.init(scheme: scheme, authority: authority, path: path, query: query, fragment: fragment)
    }

    /// Serializes with every normalization rule; nil when the authority is invalid.
    func serialize(scheme: String, removingTracking: Bool) -> String? {
      guard let authority, let auth = CanonicalURL.normalizeAuthority(authority, scheme: scheme)
      else { return nil }
      var out: [UInt8] = Array(scheme.utf8)
      out.append(contentsOf: Array("://".utf8))
      out.append(contentsOf: auth)
      var p = CanonicalURL.normalizePercent(path, allowed: CanonicalURL.pathAllowed)
      p = CanonicalURL.removeDotSegments(p)
      if p.isEmpty { p = [0x2F] }
      out.append(contentsOf: p)
      if let query {
        var q = CanonicalURL.normalizePercent(query, allowed: CanonicalURL.queryAllowed)
        if removingTracking { q = CanonicalURL.removeTracking(q) }
        if !q.isEmpty {
          out.append(0x3F)
          out.append(contentsOf: q)
        }
      }
      if let fragment, fragment.first == 0x21 {
        out.append(0x23)
        out.append(
          contentsOf: CanonicalURL.normalizePercent(fragment, allowed: CanonicalURL.queryAllowed))
      }
      return String(decoding: out, as: UTF8.self)
    }
  }

  /// RFC 3986 5.2.2 (strict: a reference with a scheme is taken as absolute).
  static func resolve(_ r: Parsed, against b: Parsed) -> Parsed {
    if r.authority != nil {
      return Parsed(
        scheme: b.scheme, authority: r.authority, path: r.path, query: r.query,
        fragment: r.fragment)
    }
    if r.path.isEmpty {
      return Parsed(
        scheme: b.scheme, authority: b.authority, path: b.path, query: r.query ?? b.query,
        fragment: r.fragment)
    }
    var path: [UInt8]
    if r.path.first == 0x2F {
      path = r.path
    } else if b.authority != nil && b.path.isEmpty {
      path = [0x2F] + r.path
    } else if let slash = b.path.lastIndex(of: 0x2F) {
      path = Array(b.path[...slash]) + r.path
    } else {
      path = r.path
    }
    return Parsed(
      scheme: b.scheme, authority: b.authority, path: path, query: r.query, fragment: r.fragment)
  }

  /// RFC 3986 5.2.4, on a path whose unreserved characters are already decoded.
  static func removeDotSegments(_ path: [UInt8]) -> [UInt8] {
    if !path.contains(0x2E) { return path }
    var input = path[...]
    var output: [UInt8] = []
    output.reserveCapacity(path.count)
    func starts(_ p: [UInt8]) -> Bool { input.starts(with: p) }
    func is_(_ p: [UInt8]) -> Bool { input.elementsEqual(p) }
    func popLastSegment() {
      if let slash = output.lastIndex(of: 0x2F) {
        output.removeSubrange(slash...)
      } else {
        output.removeAll()
      }
    }
    while !input.isEmpty {
      if starts([0x2E, 0x2E, 0x2F]) {  // "../"
        input = input.dropFirst(3)
      } else if starts([0x2E, 0x2F]) {  // "./"
        input = input.dropFirst(2)
      } else if starts([0x2F, 0x2E, 0x2F]) {  // "/./"
        input = input.dropFirst(2)
      } else if is_([0x2F, 0x2E]) {  // "/."
        input = [0x2F][...]
      } else if starts([0x2F, 0x2E, 0x2E, 0x2F]) {  // "/../"
        input = input.dropFirst(3)
        popLastSegment()
      } else if is_([0x2F, 0x2E, 0x2E]) {  // "/.."
        input = [0x2F][...]
        popLastSegment()
      } else if is_([0x2E]) || is_([0x2E, 0x2E]) {
        input = [][...]
      } else {
        var end = input.startIndex
        if input[end] == 0x2F { end += 1 }
        while end < input.endIndex && input[end] != 0x2F { end += 1 }
        output.append(contentsOf: input[input.startIndex..<end])
        input = input[end...]
      }
    }
    return output
  }

  // MARK: - Components

  static func normalizeAuthority(_ a: [UInt8], scheme: String) -> [UInt8]? {
    var rest = a[...]
    var userinfo: [UInt8]? = nil
    if let at = rest.lastIndex(of: 0x40) {
      userinfo = normalizePercent(Array(rest[..<at]), allowed: userinfoAllowed)
      rest = rest[(at + 1)...]
    }
    var hostPart: ArraySlice<UInt8>
    var portPart: ArraySlice<UInt8>? = nil
    var out: [UInt8] = []
    if let ui = userinfo {
      out.append(contentsOf: ui)
      out.append(0x40)
    }
    if rest.first == 0x5B {  // IPv6 literal
      guard let close = rest.firstIndex(of: 0x5D) else { return nil }
      hostPart = rest[rest.startIndex...close]
      let after = rest[(close + 1)...]
      if let c = after.first {
        guard c == 0x3A else { return nil }
        portPart = after.dropFirst()
      }
      for b in hostPart.dropFirst().dropLast() {
        guard isHex(b) || b == 0x3A || b == 0x2E else { return nil }
      }
      out.append(contentsOf: hostPart.map(asciiLower))
    } else {
      if let colon = rest.lastIndex(of: 0x3A) {
        hostPart = rest[..<colon]
        portPart = rest[(colon + 1)...]
      } else {
        hostPart = rest
      }
      guard let host = normalizeHost(Array(hostPart)) else { return nil }
      out.append(contentsOf: host)
    }
    if let portPart, !portPart.isEmpty {
      guard portPart.allSatisfy(isDigit) else { return nil }
      var value = 0
      for d in portPart {
        value = value * 10 + Int(d - 0x30)
        if value > 65535 { return nil }
      }
      let isDefault = (scheme == "http" && value == 80) || (scheme == "https" && value == 443)
      if !isDefault {
        out.append(0x3A)
        out.append(contentsOf: Array(String(value).utf8))
      }
    }
    return out
  }

  static func normalizeHost(_ raw: [UInt8]) -> [UInt8]? {
    let decoded = percentDecodedAll(raw)
    guard !decoded.isEmpty else { return nil }
    if decoded.allSatisfy({ $0 < 0x80 }) {
      var out: [UInt8] = []
      out.reserveCapacity(decoded.count)
      for b in decoded {
        let l = asciiLower(b)
        guard isAlpha(l) || isDigit(l) || l == 0x2D || l == 0x2E || l == 0x5F || l == 0x7E else {
          return nil
        }
        out.append(l)
      }
      return out
    }
    // Internationalized host: lower-case, NFC, punycode per label.
    guard let s = String(validating: decoded, as: UTF8.self) else { return nil }
    guard let ascii = Punycode.idnaToASCII(s) else { return nil }
    return normalizeHost(Array(ascii.utf8))
  }

  /// Tracking parameters out; the other pieces of the query kept verbatim and in order.
  /// Empty pieces (`a=1&&b=2`) carry nothing in form encoding and are dropped.
  static func removeTracking(_ q: [UInt8]) -> [UInt8] {
    var out: [UInt8] = []
    out.reserveCapacity(q.count)
    for piece in q.split(separator: 0x26, omittingEmptySubsequences: true) {
      let name = piece.firstIndex(of: 0x3D).map { piece[..<$0] } ?? piece
      if isTrackingName(name) { continue }
      if !out.isEmpty { out.append(0x26) }
      out.append(contentsOf: piece)
    }
    return out
  }

  static func isTrackingName(_ name: ArraySlice<UInt8>) -> Bool {
    guard name.count >= 3, name.count <= 40 else { return false }
    // Query bytes are normalized already: an encoded unreserved character is decoded.
    let lower = String(decoding: name.map(asciiLower), as: UTF8.self)
    return lower.hasPrefix("utm_") || trackingParameters.contains(lower)
  }

  // MARK: - Percent-encoding (RFC 3986 6.2.2)

  /// 256-entry tables: may this byte appear literally in the component?
  static let pathAllowed: [Bool] = table(extra: ":@/!$&'()*+,;=")
  static let queryAllowed: [Bool] = table(extra: ":@/?!$&'()*+,;=")
  static let userinfoAllowed: [Bool] = table(extra: ":!$&'()*+,;=")

  static func table(extra: String) -> [Bool] {
    var t = [Bool](repeating: false, count: 256)
    for b in 0..<256 {
      let u = UInt8(b)
      if isUnreserved(u) { t[b] = true }
    }
    for b in extra.utf8 { t[Int(b)] = true }
    return t
  }

  static func normalizePercent(_ bytes: [UInt8], allowed: [Bool]) -> [UInt8] {
    var out: [UInt8] = []
    out.reserveCapacity(bytes.count + 8)
    var i = 0
    let n = bytes.count
    while i < n {
      let b = bytes[i]
      if b == 0x25 {
        if i + 2 < n, let h = hexValue(bytes[i + 1]), let l = hexValue(bytes[i + 2]) {
          let v = h << 4 | l
          if isUnreserved(v) { out.append(v) } else { appendEscaped(v, to: &out) }
          i += 3
          continue
        }
        out.append(contentsOf: [0x25, 0x32, 0x35])  // a lone "%" is data: "%25"
        i += 1
        continue
      }
      if allowed[Int(b)] { out.append(b) } else { appendEscaped(b, to: &out) }
      i += 1
    }
    return out
  }

  static let allAllowed = [Bool](repeating: true, count: 256)

  static func percentDecodedAll(_ bytes: [UInt8]) -> [UInt8] {
    var out: [UInt8] = []
    out.reserveCapacity(bytes.count)
    var i = 0
    while i < bytes.count {
      if bytes[i] == 0x25, i + 2 < bytes.count, let h = hexValue(bytes[i + 1]),
        let l = hexValue(bytes[i + 2])
      {
        out.append(h << 4 | l)
        i += 3
      } else {
        out.append(bytes[i])
        i += 1
      }
    }
    return out
  }

  static let hexDigits: [UInt8] = Array("0123456789ABCDEF".utf8)

  @inline(__always) static func hexValue(_ b: UInt8) -> UInt8? {
    switch b {
    case 0x30...0x39: return b - 0x30
    case 0x41...0x46: return b - 0x41 + 10
    case 0x61...0x66: return b - 0x61 + 10
    default: return nil
    }
  }
}

@inline(__always) func isAlpha(_ b: UInt8) -> Bool { (b | 0x20) >= 0x61 && (b | 0x20) <= 0x7A }
@inline(__always) func isDigit(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }
@inline(__always) func isHex(_ b: UInt8) -> Bool { CanonicalURL.hexValue(b) != nil }
@inline(__always) func asciiLower(_ b: UInt8) -> UInt8 { b >= 0x41 && b <= 0x5A ? b | 0x20 : b }
@inline(__always) func isUnreserved(_ b: UInt8) -> Bool {
  isAlpha(b) || isDigit(b) || b == 0x2D || b == 0x2E || b == 0x5F || b == 0x7E
}
