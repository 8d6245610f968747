import Testing

@testable import Articles

/// One test per rule of `CanonicalURL` (see its documentation), each with inputs a feed
/// really gives: the URL a reader would see in `webUrl`, and what must dedup together.
@Suite struct CanonicalURLTests {
  func c(_ s: String, _ base: String? = nil) -> String? { CanonicalURL.canonicalize(s, base: base) }

  @Test func whitespaceAroundAndNewlinesInsideAreRemoved() {
    #expect(c("  https://example.com/a\n/b\t?x=1 \n") == "https://example.com/a/b?x=1")
    #expect(c("\u{1}https://example.com/") == "https://example.com/")
  }

  @Test(arguments: [
    ("b/c", "https://example.com/a/x", "https://example.com/a/b/c"),
    ("../c", "https://example.com/a/b/x", "https://example.com/a/c"),
    ("/c?d=1", "https://example.com/a/b", "https://example.com/c?d=1"),
    ("//cdn.example.net/i.png", "https://example.com/a", "https://cdn.example.net/i.png"),
    ("?page=2", "https://example.com/list?page=1", "https://example.com/list?page=2"),
    ("#top", "https://example.com/post?id=3", "https://example.com/post?id=3"),
    ("post", "https://example.com", "https://example.com/post"),
    ("https://other.org/x", "https://example.com/", "https://other.org/x"),
  ])
  func relativeReferencesResolveAgainstBase(ref: String, base: String, expected: String) {
    #expect(c(ref, base) == expected)
  }

  @Test(arguments: [
    "/relative/without/base", "mailto:a@example.com", "javascript:alert(1)", "ftp://example.com/",
    "file:///etc/passwd", "data:text/html,<b>x</b>", "https://", "http:///path", "",
    "https://exa mple.com/", "https://example.com:99999/", "https://example.com:8o/",
    "https://ex<ample.com/", "gopher://127.0.0.1:70/",
  ])
  func nonHTTPOrHostlessURLsAreRefused(url: String) {
    #expect(c(url) == nil)
    #expect(!CanonicalURL.isHTTPURL(url))
  }

  @Test func emptyReferenceIsNoLinkEvenWithABase() {
    #expect(c("", "https://example.com/feed") == nil)
    #expect(c(" \n\t", "https://example.com/feed") == nil)
    #expect(c("#", "https://example.com/post") == "https://example.com/post")
  }

  @Test func relativeAgainstNonHTTPBaseIsRefused() {
    #expect(c("page.html", "file:///tmp/") == nil)
    #expect(c("page.html", "not a url") == nil)
  }

  @Test func schemeAndHostAreLowerCasedButNotThePath() {
    #expect(
      c("HTTPS://WWW.Example.COM/News/Story?ID=A") == "https://www.example.com/News/Story?ID=A")
  }

  @Test func percentEncodedHostIsDecoded() {
    #expect(c("https://ex%61mple.com/") == "https://example.com/")
  }

  @Test func internationalizedHostsBecomePunycode() {
    #expect(c("https://Bücher.example/buch") == "https://xn--bcher-kva.example/buch")
    #expect(c("https://xn--bcher-kva.example/buch") == "https://xn--bcher-kva.example/buch")
    #expect(c("https://例え.テスト/") == "https://xn--r8jz45g.xn--zckzah/")
    // Composed and decomposed forms of the same name are one host.
    #expect(c("https://bu\u{308}cher.example/") == c("https://b\u{fc}cher.example/"))
  }

  /// No host has a label over 63 bytes or a name over 253 in ASCII form: longer Unicode
  /// names are not hosts (and Punycode is quadratic in a label: 40,000 scalars took 14 s).
  @Test func overlongInternationalHostsAreRefused() {
    let label = String(repeating: "ü", count: 64)
    #expect(c("https://\(label).example/") == nil)
    let ok = String(repeating: "ü", count: 40)
    #expect(c("https://\(ok).example/")?.hasPrefix("https://xn--") == true)
    let many = Array(repeating: "é", count: 600).joined(separator: ".")
    #expect(c("https://\(many).example/") == nil)
  }

  @Test func ipLiteralsAreKept() {
    #expect(c("http://[2001:DB8::1]:8080/x") == "http://[2001:db8::1]:8080/x")
    #expect(c("http://127.0.0.1:8080/feed") == "http://127.0.0.1:8080/feed")
  }

  @Test(arguments: [
    ("http://example.com:80/a", "http://example.com/a"),
    ("https://example.com:443/a", "https://example.com/a"),
    ("https://example.com:80/a", "https://example.com:80/a"),
    ("http://example.com:443/a", "http://example.com:443/a"),
    ("http://example.com:/a", "http://example.com/a"),
    ("http://example.com:0080/a", "http://example.com/a"),
    ("http://example.com:08080/a", "http://example.com:8080/a"),
  ])
  func defaultPortIsDropped(url: String, expected: String) {
    #expect(c(url) == expected)
  }

  @Test func fragmentIsDroppedExceptHashbang() {
    #expect(c("https://example.com/post#comments") == "https://example.com/post")
    #expect(c("https://example.com/post?a=1#") == "https://example.com/post?a=1")
    #expect(c("https://example.com/#!/story/42") == "https://example.com/#!/story/42")
  }

  @Test func emptyPathBecomesSlash() {
    #expect(c("https://example.com") == "https://example.com/")
    #expect(c("https://example.com?q=1") == "https://example.com/?q=1")
  }

  @Test(arguments: [
    ("https://example.com/a/./b/../c", "https://example.com/a/c"),
    ("https://example.com/../../a", "https://example.com/a"),
    ("https://example.com/a/b/..", "https://example.com/a/"),
    ("https://example.com/a/.", "https://example.com/a/"),
    ("https://example.com/a/%2E%2E/b", "https://example.com/b"),
    ("https://example.com/a/%2e/b", "https://example.com/a/b"),
    ("https://example.com/a..b/.c/", "https://example.com/a..b/.c/"),
  ])
  func dotSegmentsAreRemoved(url: String, expected: String) {
    #expect(c(url) == expected)
  }

  @Test(arguments: [
    // Hex digits upper-cased.
    ("https://example.com/a%2fb%3a", "https://example.com/a%2Fb%3A"),
    // Unreserved characters decoded.
    ("https://example.com/%7Euser/%41%42%2D%5F", "https://example.com/~user/AB-_"),
    // Reserved characters keep their form: %2F is not "/".
    ("https://example.com/a%2Fb/c/d", "https://example.com/a%2Fb/c/d"),
    // Characters that must be encoded are encoded.
    ("https://example.com/a b\"<>^`{|}", "https://example.com/a%20b%22%3C%3E%5E%60%7B%7C%7D"),
    ("https://example.com/café?q=naïve", "https://example.com/caf%C3%A9?q=na%C3%AFve"),
    ("https://example.com/a\\b", "https://example.com/a%5Cb"),
    // A lone "%" is data.
    ("https://example.com/100%?x=%zz", "https://example.com/100%25?x=%25zz"),
    // "+" and sub-delimiters are left alone.
    ("https://example.com/a+b?q=a+b&x=(1);y=*", "https://example.com/a+b?q=a+b&x=(1);y=*"),
  ])
  func percentEncodingIsNormalized(url: String, expected: String) {
    #expect(c(url) == expected)
  }

  @Test func equivalentSpellingsGiveOneKey() {
    let spellings = [
      "https://Example.com:443/caf%c3%a9/./story?id=7&utm_source=rss#top",
      "HTTPS://example.com/café/story?id=7",
      "https://example.com/a/../caf%C3%A9/story?utm_medium=feed&id=7&fbclid=XYZ",
    ]
    let keys = Set(spellings.compactMap { c($0) })
    #expect(keys == ["https://example.com/caf%C3%A9/story?id=7"])
  }

  @Test(arguments: [
    "utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content", "UTM_Source",
    "utm_brand", "fbclid", "gclid", "dclid", "msclkid", "mc_cid", "mc_eid", "yclid", "_hsenc",
    "_hsmi", "igshid", "mkt_tok", "utm%5Fsource",
  ])
  func trackingParametersAreRemoved(name: String) {
    #expect(c("https://example.com/p?a=1&\(name)=x&b=2") == "https://example.com/p?a=1&b=2")
    #expect(c("https://example.com/p?\(name)=x") == "https://example.com/p")
  }

  @Test func otherParametersKeepTheirOrderAndSpelling() {
    #expect(
      c("https://example.com/p?z=1&utm_source=rss&a=2&Z=3&id")
        == "https://example.com/p?z=1&a=2&Z=3&id")
    // Names that only look similar stay.
    #expect(
      c("https://example.com/p?utm=1&gclidx=2&my_utm_source=3")
        == "https://example.com/p?utm=1&gclidx=2&my_utm_source=3")
  }

  @Test func emptyQueryDropsTheQuestionMark() {
    #expect(c("https://example.com/p?") == "https://example.com/p")
    #expect(c("https://example.com/p?utm_source=a&utm_medium=b") == "https://example.com/p")
    #expect(c("https://example.com/p?&&") == "https://example.com/p")
    #expect(c("https://example.com/p?a=1&&utm_source=x&&b") == "https://example.com/p?a=1&b")
  }

  @Test func wwwAndTrailingSlashAreNeverTouched() {
    #expect(c("https://www.example.com/a/") == "https://www.example.com/a/")
    #expect(c("https://example.com/a") == "https://example.com/a")
  }

  @Test func userInfoIsKeptNormalized() {
    #expect(c("https://us%65r:p%41ss@Example.com/") == "https://user:pAss@example.com/")
  }

  @Test func normalizeCanKeepTracking() {
    #expect(
      CanonicalURL.normalize("/a?utm_source=x", base: "https://e.com/", removingTracking: false)
        == "https://e.com/a?utm_source=x")
  }

  @Test func canonicalizeIsIdempotent() {
    let inputs = [
      "https://Example.com:443/caf%c3%a9/./story?id=7&utm_source=rss#top",
      "http://[::1]:80/a/%2e%2e/b?x=%7e", "https://例え.テスト/a b?c=d e",
      "https://example.com/100%?x=%zz",
    ]
    for u in inputs {
      let once = c(u)
      #expect(once != nil)
      #expect(c(once ?? "") == once)
    }
  }

  @Test func isHTTPURLAcceptsWhatCanonicalizeAccepts() {
    #expect(CanonicalURL.isHTTPURL("https://example.com"))
    #expect(CanonicalURL.isHTTPURL("HTTP://EXAMPLE.COM/x"))
    #expect(!CanonicalURL.isHTTPURL("//example.com/x"))
    #expect(!CanonicalURL.isHTTPURL("example.com"))
  }

  /// The origin the scheduler keys waits on and the config checks: host lower-case and
  /// in ASCII, the default port filled in, userinfo left out; nil where `canonicalize`
  /// would refuse the URL.
  @Test func originIsSchemeHostAndPort() {
    func o(_ s: String) -> String? {
      CanonicalURL.origin(of: s).map { "\($0.scheme) \($0.host) \($0.port)" }
    }
    #expect(o("https://User:pw@News.Example.ORG:8443/feed?x=1") == "https news.example.org 8443")
    #expect(o("HTTP://example.org") == "http example.org 80")
    #expect(o("http://example.org:80/") == "http example.org 80")
    #expect(o("https://example.org:/x") == "https example.org 443")
    #expect(o("http://[::1]:8080/feed") == "http [::1] 8080")
    #expect(o("https://bücher.example/rss") == "https xn--bcher-kva.example 443")
    for bad in [
      "ftp://example.org/", "http:///feed", "http://:80/", "example.org/feed", "//example.org/",
      "http://exa mple.org/", "http://example.org:99999/",
    ] {
      #expect(o(bad) == nil, "\(bad)")
    }
  }

  /// One parse gives what `normalize` (tracking kept) and `canonicalize` give apart.
  @Test func normalizedAndCanonicalAreTheTwoCallsInOne() {
    let pair = CanonicalURL.normalizedAndCanonical(
      "/a/../b?utm_source=x&id=1#frag", base: "HTTPS://Example.COM:443/feed/")
    #expect(pair?.normalized == "https://example.com/b?utm_source=x&id=1")
    #expect(pair?.canonical == "https://example.com/b?id=1")
    for (url, base) in [
      ("https://a.example/x?fbclid=1", nil), ("x.html", "http://b.example/d/"), ("ftp://c/", nil),
      ("", "http://b.example/"), ("//d.example/p?gclid=2&q", "https://e.example/"),
      ("rel", nil), ("http://exa mple.org/", nil),
    ] as [(String, String?)] {
      let p = CanonicalURL.normalizedAndCanonical(url, base: base)
      #expect(p?.canonical == CanonicalURL.canonicalize(url, base: base), "\(url)")
      #expect(
        p?.normalized == CanonicalURL.normalize(url, base: base, removingTracking: false)
          || p == nil, "\(url)")
    }
  }

  /// Dedup keys hash the canonical URL with its query sorted: parameter order never
  /// makes a second article; everything else about the URL stays as it was.
  /// Links that differ only where a server (or the spool checker) sees no difference are
  /// one article: a hashbang, the user info, a query read as a form.
  @Test func dedupFormReadsTheQueryAsAFormAndDropsFragmentsAndUserInfo() {
    func same(_ a: String, _ b: String, sourceLocation: SourceLocation = #_sourceLocation) {
      let x = CanonicalURL.canonicalize(a).map(CanonicalURL.dedupForm)
      let y = CanonicalURL.canonicalize(b).map(CanonicalURL.dedupForm)
      #expect(x != nil && x == y, "\(a) / \(b)", sourceLocation: sourceLocation)
    }
    same("https://a.example/story#!/1", "https://a.example/story#!/2")
    same("https://a.example/story#!/1", "https://a.example/story")
    same("http://u:p1@a.example/x", "http://u:p2@a.example/x")
    same("http://u@a.example/x", "http://a.example/x")
    same("https://a.example/s?x=a+b", "https://a.example/s?x=a%20b")
    same("https://a.example/s?k", "https://a.example/s?k=")
    same("https://a.example/s?p=a%2Fb", "https://a.example/s?p=a/b")
    same("https://a.example/s?p=a%3Ab&q=%C3%A9", "https://a.example/s?q=é&p=a:b")
    same("https://a.example/s?b=2&&a=1&=", "https://a.example/s?a=1&b=2")
    // What a form tells apart stays apart.
    let f = CanonicalURL.dedupForm
    #expect(f("https://a.example/s?x=a%2Bb") != f("https://a.example/s?x=a+b"))
    #expect(f("https://a.example/s?x=a%26b") != f("https://a.example/s?x=a&b"))
    #expect(f("https://a.example/s?x=1") != f("https://a.example/s?x=2"))
    #expect(f("https://a.example/a%2Fb") != f("https://a.example/a/b"))
    #expect(f("https://a.example/@me/post") == "https://a.example/@me/post")
    // Usual links keep their key (the canonical URL itself, or sorted as before).
    #expect(f("https://a.example/s?id=5&page=2") == "https://a.example/s?id=5&page=2")
    #expect(
      f("https://a.example/s?url=http://b.example/x")
        == "https://a.example/s?url=http://b.example/x")
  }

  @Test func dedupFormSortsTheQuery() {
    let f = CanonicalURL.dedupForm
    #expect(f("https://a.example/p?b=2&a=1") == "https://a.example/p?a=1&b=2")
    #expect(f("https://a.example/p?a=1&b=2") == "https://a.example/p?a=1&b=2")
    #expect(f("https://a.example/p?z&a=2&a=1&m=") == "https://a.example/p?a=1&a=2&m&z")
    #expect(f("https://a.example/p?b=1&a=2#!/x?y") == "https://a.example/p?a=2&b=1")
    #expect(f("https://a.example/p?only=1") == "https://a.example/p?only=1")
    #expect(f("https://a.example/p") == "https://a.example/p")
    let x = CanonicalURL.canonicalize("HTTPS://A.example/p?utm_source=x&b=2&a=1")
    let y = CanonicalURL.canonicalize("https://a.example:443/p?a=1&b=2&fbclid=3#top")
    #expect(x != nil && f(x!) == f(y!))
  }
}
