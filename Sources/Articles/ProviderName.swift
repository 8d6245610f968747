/// A readable site name when nothing better is known (no `og:site_name`, no feed title).
///
/// The seeds show the convention of the system feedspool grew out of: a site without a
/// brand name of its own is named by its registrable domain with a capital first letter
/// (`benzinga.com` -> `Benzinga.com`). The top-level domain stays, because it is part of
/// how such sites name themselves and it keeps `Example.com` and `Example.org` apart.
/// IP addresses and `localhost`-like hosts are returned unchanged.
public enum ProviderName {
  /// `benzinga.com` -> `Benzinga.com`; `www.bbc.co.uk` -> `Bbc.co.uk`; `127.0.0.1` stays.
  public static func fallback(domain: String) -> String? {
    guard let d = RegistrableDomain.of(host: domain) else { return nil }
    if RegistrableDomain.isIPLiteral(d) { return d }
    guard let first = d.first else { return nil }
    return first.uppercased() + d.dropFirst()
  }

  /// The site name to write: the first non-empty candidate after whitespace folding
  /// (e.g. `og:site_name`, then the feed's title), else the fallback from the domain.
  public static func choose(_ candidates: [String?], domain: String?) -> String? {
    for case let c? in candidates {
      let folded = HTMLText.foldWhitespace(c)
      if !folded.isEmpty { return folded }
    }
    return domain.flatMap { fallback(domain: $0) }
  }
}
