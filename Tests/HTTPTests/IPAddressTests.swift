import Testing

@testable import HTTP

@Suite struct IPAddressTests {
  @Test(arguments: [
    ("93.184.216.34", IPAddress.Scope.public),
    ("8.8.8.8", .public),
    ("127.0.0.1", .loopback),
    ("127.255.255.254", .loopback),
    ("0.0.0.0", .unspecified),
    ("0.1.2.3", .unspecified),
    ("169.254.169.254", .linkLocal),
    ("10.0.0.1", .private),
    ("10.255.255.255", .private),
    ("172.16.0.1", .private),
    ("172.31.255.255", .private),
    ("172.15.255.255", .public),
    ("172.32.0.0", .public),
    ("192.168.1.1", .private),
    ("192.169.0.1", .public),
    ("100.64.0.1", .sharedAddressSpace),
    ("100.127.255.255", .sharedAddressSpace),
    ("100.128.0.0", .public),
    ("100.63.255.255", .public),
    ("224.0.0.1", .multicast),
    ("239.255.255.250", .multicast),
    ("255.255.255.255", .broadcast),
    ("240.0.0.1", .reserved),
    ("2606:2800:220:1:248:1893:25c8:1946", .public),
    ("::1", .loopback),
    ("[::1]", .loopback),
    ("::", .unspecified),
    ("fe80::1", .linkLocal),
    ("fe80::1%eth0", .linkLocal),
    ("febf::1", .linkLocal),
    ("fec0::1", .private),
    ("fc00::1", .private),
    ("fd12:3456::1", .private),
    ("ff02::1", .multicast),
    ("::ffff:127.0.0.1", .loopback),
    ("::ffff:7f00:1", .loopback),
    ("::ffff:10.1.2.3", .private),
    ("::ffff:169.254.169.254", .linkLocal),
    ("::ffff:8.8.8.8", .public),
    ("64:ff9b::127.0.0.1", .loopback),
    ("64:ff9b::8.8.8.8", .public),
    ("::127.0.0.1", .reserved),
  ])
  func classifies(_ text: String, _ expected: IPAddress.Scope) throws {
    let address = try #require(IPAddress(text))
    #expect(address.scope == expected)
    #expect(address.isPublic == (expected == .public))
  }

  // Only canonical dotted quads: the connected address comes from the kernel in that form,
  // and "0x7f.1"-style names are resolved, then judged by the address they give.
  @Test(arguments: [
    "", "localhost", "256.1.1.1", "1.2.3", "::g", "example.com", "1.2.3.4.5", "0x7f.0.0.1",
    "127.000.000.001", "2130706433",
  ])
  func rejectsNonLiterals(_ text: String) {
    #expect(IPAddress(text) == nil)
  }

  @Test func printsCanonicalForms() throws {
    #expect(try #require(IPAddress("127.0.0.1")).description == "127.0.0.1")
    #expect(try #require(IPAddress("2001:0db8:0000::0001")).description == "2001:db8::1")
    #expect(try #require(IPAddress("2001:db8::1")).hostForm == "[2001:db8::1]")
  }

  @Test func normalizesAllowEntries() {
    #expect(NetworkPolicy.normalize("127.0.0.1:8080") == "127.0.0.1:8080")
    #expect(NetworkPolicy.normalize(" Intranet.Example.:443 ") == "intranet.example:443")
    #expect(NetworkPolicy.normalize("[0:0::1]:80") == "[::1]:80")
    #expect(NetworkPolicy.normalize("example.com") == nil)
    #expect(NetworkPolicy.normalize("example.com:http") == nil)
    #expect(NetworkPolicy.normalize("example.com:70000") == nil)
  }

  @Test func screenAdmitsPublicAndAllowedAddressesOnly() throws {
    let screen = AddressScreen(allow: NetworkPolicy(allow: ["127.0.0.1:8080"]).normalizedAllow)
    #expect(screen.refusal(address: try #require(IPAddress("8.8.8.8")), port: 80) == nil)
    #expect(screen.refusal(address: try #require(IPAddress("127.0.0.1")), port: 8080) == nil)
    #expect(screen.refusal(address: try #require(IPAddress("127.0.0.1")), port: 8081) != nil)
    #expect(screen.refusal(address: try #require(IPAddress("::ffff:127.0.0.1")), port: 8080) != nil)
    #expect(screen.refusal(address: try #require(IPAddress("10.0.0.1")), port: 8080) != nil)
  }

  @Test func readsURLTargetsLikeLibcurl() throws {
    let plain = try URLTarget.parse("http://Example.COM/feed").get()
    #expect(plain.scheme == "http")
    #expect(plain.allowKey == "example.com:80")
    let tls = try URLTarget.parse("HTTPS://example.com/").get()
    #expect(tls.allowKey == "example.com:443")
    let v6 = try URLTarget.parse("http://[::1]:8080/x").get()
    #expect(v6.allowKey == "[::1]:8080")
    for forbidden in ["ftp://example.com/", "file:///etc/passwd", "gopher://x/", "javascript:1"] {
      #expect(throws: URLTarget.Refusal.self) { try URLTarget.parse(forbidden).get() }
      #expect(URLTarget.schemeRefusal(forbidden)?.kind == .forbiddenScheme)
    }
    #expect(URLTarget.schemeRefusal("https://example.com") == nil)
    #expect(throws: URLTarget.Refusal.self) { try URLTarget.parse("not a url").get() }
  }

  @Test func headerValuesRoundTripAsOctets() {
    let octets: [UInt8] = [0x57, 0x2F, 0x22, 0xE9, 0xC3, 0xA9, 0x22]
    let text = String(latin1: octets)
    #expect(text.headerOctets == octets)
    #expect("plain".headerOctets == Array("plain".utf8))
    #expect("€".headerOctets == Array("€".utf8))
  }

  @Test func headersLookUpCaseInsensitively() {
    let headers = HTTPHeaders(pairs: [("ETag", "\"a\""), ("Vary", "x"), ("vary", "y")])
    #expect(headers["etag"] == "\"a\"")
    #expect(headers["ETAG"] == "\"a\"")
    #expect(headers.values(for: "VARY") == ["x", "y"])
    #expect(headers["missing"] == nil)
    #expect(!"etag".caseInsensitiveEquals("etah"))
    #expect(!"a[".caseInsensitiveEquals("A{"))
  }
}
