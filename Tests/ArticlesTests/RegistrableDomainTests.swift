import Testing

@testable import Articles

@Suite struct RegistrableDomainTests {
  @Test(arguments: [
    ("www.benzinga.com", "benzinga.com"),
    ("news.bbc.co.uk", "bbc.co.uk"),
    ("venturebeat.com", "venturebeat.com"),
    ("WWW.Example.COM.", "example.com"),
    ("a.b.c.example.com.au", "example.com.au"),
    ("someone.github.io", "someone.github.io"),
    ("xn--bcher-kva.example.de", "example.de"),
  ])
  func registrableDomainComesFromThePublicSuffixList(host: String, expected: String) {
    #expect(RegistrableDomain.of(host: host) == expected)
  }

  @Test(arguments: [
    ("127.0.0.1", "127.0.0.1"), ("[::1]", "::1"), ("2001:db8::1", "2001:db8::1"),
    ("localhost", "localhost"), ("github.io", "github.io"),
  ])
  func ipLiteralsAndPublicSuffixesAreTheirOwnDomain(host: String, expected: String) {
    #expect(RegistrableDomain.of(host: host) == expected)
  }

  /// A host of digits and dots is an address only as a dotted quad; anything else goes
  /// to the suffix list.
  @Test func onlyDottedQuadsAndIPv6AreAddresses() {
    for h in ["192.168.0.1", "0.0.0.0", "255.255.255.255", "fe80::1", "::ffff:1.2.3.4"] {
      #expect(RegistrableDomain.isIPLiteral(h), "\(h)")
    }
    for h in ["1.2.3", "1.2.3.4.5", "1..2.3", "1234.1.1.1", "1.2.3.4a", ".1.2.3", "a.b.c.d", ""] {
      #expect(!RegistrableDomain.isIPLiteral(h), "\(h)")
    }
    #expect(RegistrableDomain.of(host: "1.2.3.example.com") == "example.com")
  }

  @Test func invalidHostsHaveNoDomain() {
    #expect(RegistrableDomain.of(host: "") == nil)
    #expect(RegistrableDomain.of(host: "a b.com") == nil)
    #expect(RegistrableDomain.of(host: "evil.com/x") == nil)
  }

  @Test func domainOfAURL() {
    #expect(
      RegistrableDomain.of(url: "https://user@www.benzinga.com:8443/news?x=1") == "benzinga.com")
    #expect(RegistrableDomain.of(url: "http://127.0.0.1:8080/feed.xml") == "127.0.0.1")
    #expect(RegistrableDomain.of(url: "/relative") == nil)
  }

  @Test(arguments: [
    ("benzinga.com", "Benzinga.com"), ("www.benzinga.com", "Benzinga.com"),
    ("news.bbc.co.uk", "Bbc.co.uk"), ("127.0.0.1", "127.0.0.1"),
  ])
  func providerNameFallsBackToTheCapitalizedDomain(domain: String, expected: String) {
    #expect(ProviderName.fallback(domain: domain) == expected)
  }

  @Test func providerNamePrefersTheSitesOwnName() {
    #expect(
      ProviderName.choose([nil, "  ", " Venture\nBeat "], domain: "venturebeat.com")
        == "Venture Beat")
    #expect(ProviderName.choose([nil, ""], domain: "www.time.com") == "Time.com")
    #expect(ProviderName.choose([], domain: nil) == nil)
  }
}
