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
    guard let host = CanonicalURL.origin(of: url)?.host else { return nil }
    return of(host: host)
  }

  /// A dotted quad or an IPv6 literal (a host name never has a colon).
  static func isIPLiteral(_ h: String) -> Bool {
    if h.utf8.contains(0x3A) { return true }
    var dots = 0
    var digits = 0
    for b in h.utf8 {
      if b == 0x2E {
        guard digits > 0 else { return false }
        dots += 1
        digits = 0
      } else if b >= 0x30 && b <= 0x39 {
        digits += 1
        if digits > 3 { return false }
      } else {
        return false
      }
    }
    return dots == 3 && digits > 0
  }
}
