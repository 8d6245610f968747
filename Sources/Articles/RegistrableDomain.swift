import CPSL

/// The registrable domain of a host ("eTLD+1"), from the Public Suffix List compiled into
/// libpsl: `www.benzinga.com` -> `benzinga.com`, `news.bbc.co.uk` -> `bbc.co.uk`. This is
/// `provider.domain` in the article file.
public enum RegistrableDomain {
  /// - The host is lower-cased and a trailing dot removed first; `[...]` brackets of an
  ///   IPv6 literal are removed.
  /// - IP literals (IPv4 dotted quad, IPv6) are their own domain.
  /// - A host that is itself a public suffix or a single label (`localhost`, `github.io`)
  ///   has no registrable domain in the list; the host itself is returned, so that a
  ///   provider always has a domain.
  /// - Punycode (`xn--`) and UTF-8 hosts both work; the answer keeps the input's form.
  /// - nil for an empty host or one with characters no host name has.
  public static func of(host: String) -> String? {
    var h = host.lowercased()
    if h.hasPrefix("[") && h.hasSuffix("]") { h = String(h.dropFirst().dropLast()) }
    while h.hasSuffix(".") { h.removeLast() }
    guard !h.isEmpty, !h.utf8.contains(where: { $0 <= 0x20 || $0 == 0x2F || $0 == 0x40 }) else {
      return nil
    }
    if isIPLiteral(h) { return h }
    guard let ctx = psl_builtin() else { return h }
    let found: String? = h.withCString { p in
      guard let r = psl_registrable_domain(ctx, p) else { return nil }
      return String(cString: r)
    }
    return found ?? h
  }

  /// The registrable domain of an absolute URL's host.
  public static func of(url: String) -> String? {
    guard let host = host(of: url) else { return nil }
    return of(host: host)
  }

  /// The host of an absolute http(s) URL, after canonicalization.
  public static func host(of url: String) -> String? {
    guard let c = CanonicalURL.canonicalize(url) else { return nil }
    var rest = c.drop(while: { $0 != ":" }).dropFirst(3)
    if let slash = rest.firstIndex(of: "/") { rest = rest[..<slash] }
    if let at = rest.lastIndex(of: "@") { rest = rest[rest.index(after: at)...] }
    if rest.hasPrefix("[") {
      if let close = rest.firstIndex(of: "]") { return String(rest[...close]) }
      return nil
    }
    if let colon = rest.lastIndex(of: ":") { rest = rest[..<colon] }
    return String(rest)
  }

  static func isIPLiteral(_ h: String) -> Bool {
    if h.contains(":") { return true }  // IPv6 (a host name never has a colon)
    let parts = h.split(separator: ".", omittingEmptySubsequences: false)
    return parts.count == 4
      && parts.allSatisfy { p in !p.isEmpty && p.count <= 3 && p.allSatisfy(\.isASCIIDigit) }
  }
}

extension Character {
  fileprivate var isASCIIDigit: Bool { isASCII && isNumber }
}
